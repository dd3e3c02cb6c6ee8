"""What each notebook shrinks in smoke mode (TFCOURSE_SMOKE=1), out of the student's view.

A notebook's parameters cell names only the course's real values
(`course_params("03", full={...})`); the smaller values a quick check of the whole course
runs with live here, so the lesson shows one set of numbers and the same cell serves both.
Only keys of the notebook's `full` values may appear (`settings.course_params` checks).
"""

SMOKE = {
    "00": {"timing_repeats": 5, "hop_rounds": 20},
    "01": {"timed_batches": 20},
    "02": {},  # nothing in 02 takes long: the smoke run uses the course values
    "03": {"manual_steps": 30, "epochs": 0.5, "min_test_precision": 0.85},
    "04": {"max_steps": 1000, "min_test_precision": 0.75},
    "05": {"total_steps": 300, "checkpoint_every": 50, "crash_after": 100},
    "06": {"max_steps": 300, "eval_every": 100, "v1_steps": 300,
           "profile_steps_per_call": 20, "profile_calls": 2},
    "07": {"epochs": 3, "steps_per_epoch": 50, "backup_steps_per_epoch": 20, "crash_batch": 10},
    "08": {"train_steps": 200},
    "09": {"mirror_steps": 50, "async_steps": 300,
           "straggler_delay_s": 0.15, "straggler_steps": 4},
    "10": {"steps": 10, "warmup": 3, "compare_rounds": 2, "repeats": 1, "gpu_steps": 10,
           "allreduce_sizes_mb": [0.25, 2, 16],  # far apart: a line through 3 noisy sizes needs the spread
           "allreduce_iterations": 5},
    "11": {"late_start_s": 3, "cluster_timeout_s": 30, "train_steps": 100},
}
