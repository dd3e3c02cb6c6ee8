"""Distributed training: the one place that decides devices, strategies, TF_CONFIG and worker processes.

Both labs use it: the MNIST trainer (`tfcourse train --replicas`, `tfcourse launch`) and the
ResNet benchmark (`tfcourse bench resnet50 --replicas/--workers`, `tfcourse bench allreduce`).

Modules:
  devices      GPUs, or logical CPU devices carved out of the one CPU.
  strategies   which tf.distribute strategy a process runs under; the RING collective options.
  tfconfig     cluster addresses on free ports, each task's TF_CONFIG, the chief.
  protocol     the launcher's environment variables and the preemption exit code the trainer shares.
  processes    `tfcourse launch`: start N workers with their TF_CONFIG, stream logs, tear down;
               run_and_collect for measurements.
  raybackend   `tfcourse launch --backend ray`: a worker function on a Ray cluster via Ray Train.
  jobfiles     `--emit slurm` / `--emit k8s`: job files for clusters this machine cannot reach.
  paramserver  asynchronous data parallel with ParameterServerStrategy (sync vs async).
  syncps       a synchronous parameter-server step next to the asynchronous one, with a straggler.
  keras_ps     keras.optimizers.SGD under ParameterServerStrategy: what its updates lose and keep.
  keras_fit    Keras `model.fit` under MultiWorkerMirroredStrategy, one process per worker.
  modelparallel  the MLP's hidden layers on different devices, and the Send/Recv between them.
"""
