"""Exercises with instant, specific feedback: one module per notebook (nb01, nb03, ...).

    from tfcourse.exercises import nb03 as ex
    ex.q1.check(my_loss)   # runs your function against the reference, names the usual mistakes
    ex.q1.hint()           # a hint; call again for a stronger one
    ex.q1.solution()       # the reference code

Importing this package or a notebook module imports no TensorFlow: a check imports it when it runs.
`core` holds the exercise and mistake types, `feedback` the display, `cells` the notebook cells
and the solved copy, `grading` and `gradebook` the teacher's `tfcourse grade`. docs/exercises.md
is the authoring guide.
"""
