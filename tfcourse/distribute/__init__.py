"""Distributed training: strategies, the local launcher, cluster job files.

Modules:
  launch     `tfcourse launch`: start N workers with their TF_CONFIG, stream logs, tear down.
  jobfiles   `--emit slurm` / `--emit k8s`: job files for clusters this machine cannot reach.
  cluster    TF_CONFIG and the strategy the trainer should use (chief, sharding, devices).
  paramserver  asynchronous data parallel with ParameterServerStrategy (sync vs async).
  modelparallel  the MLP's hidden layers on different devices, and the Send/Recv between them.
"""
