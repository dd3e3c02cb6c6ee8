"""The talk's fully_connected_feed.py, written by a student against `tfcourse.v1`.

The graph/session flow: build everything in a tf.Graph, run it in a Session, feed each
batch through feed_dict, write summaries and checkpoints, evaluate with do_eval.

  python examples/fully_connected_feed.py --max_steps 2000 --log_dir /tmp/fcf
"""

import argparse
import os
import tempfile

import tensorflow as tf

from tfcourse import v1 as course
from tfcourse.datasets import read_data_sets

compat = tf.compat.v1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max_steps", type=int, default=2000, help="training steps")
    parser.add_argument("--batch_size", type=int, default=100, help="images per step")
    parser.add_argument("--learning_rate", type=float, default=0.01, help="gradient descent rate")
    parser.add_argument("--log_dir", default=os.path.join(tempfile.gettempdir(), "fully_connected_feed"),
                        help="events and checkpoints go here")
    parser.add_argument("--fake_data", action="store_true", help="use synthetic data (quick checks)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    data_sets = read_data_sets(fake_data=args.fake_data)
    with tf.Graph().as_default():
        compat.set_random_seed(0)
        graph = course.build_graph(args.batch_size, 128, 32, args.learning_rate)
        summary = compat.summary.merge_all()
        saver = compat.train.Saver()
        with compat.Session() as sess:
            writer = compat.summary.FileWriter(args.log_dir, sess.graph)
            sess.run(compat.global_variables_initializer())
            for step in range(args.max_steps):
                feed_dict = course.fill_feed_dict(data_sets.train, graph["images"], graph["labels"])
                _, loss_value = sess.run([graph["train_op"], graph["loss"]], feed_dict=feed_dict)
                if step % 100 == 0:
                    print(f"Step {step}: loss = {loss_value:.2f}")
                    writer.add_summary(sess.run(summary, feed_dict=feed_dict), step)
            saver.save(sess, os.path.join(args.log_dir, "model.ckpt"), global_step=args.max_steps)
            writer.close()
            for name in ("validation", "test"):
                print(f"{name.capitalize()} Data Eval:")
                precision = course.do_eval(sess, graph["eval_correct"], graph["images"], graph["labels"],
                                           getattr(data_sets, name))
                print(f"{name} precision@1 = {precision:.4f}")


if __name__ == "__main__":
    main()
