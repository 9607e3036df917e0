"""Tests of the pipeline targets of benchmarks/targets.py (the rows of benchmarks/bench_model.cpp):
pipeline_prediction, pipeline_ideal, faster_as_predicted, and counter_ratio_at_most with an argument,
on hand-made results as benchmarks/summarize.py loads them ((workload, impl, arg) -> time, counters).

    python3 -m unittest discover -s tests/report -v        (CTest: report.generator)

Standard library only.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "benchmarks"))
sys.dont_write_bytecode = True
import targets  # noqa: E402


def row(time, **counters):
    return {"time": time, "counters": counters}


def pipeline(p, m, time, predicted, gain=None, **more):
    c = dict(devices=p, micro_batches=m, predicted_seconds=predicted, pipeline_ideal=p * m / (m + p - 1), **more)
    if gain is not None:
        c["predicted_gain_over_1f1b"] = gain
    return row(time, **c)


def results(p=2, zb_time=0.50, one_time=0.98, predicted_1f1b=0.55):
    """One device at m = 8 takes 1.0; on p devices 1F1B takes 0.6, ZB-H1 zb_time (predicted 10% faster)."""
    w = f"model_pipeline_p{p}"
    return {
        ("model_pipeline_p1", "one_device", 8): pipeline(1, 8, 1.0, 0.97, gain=1.0),
        (w, "1f1b", 8): pipeline(p, 8, 0.6, predicted_1f1b, gain=1.0, activations_mib_max=1.0),
        (w, "zb_h1", 8): pipeline(p, 8, zb_time, 0.5, gain=1.1),
        (w, "gpipe", 8): pipeline(p, 8, 0.6, 0.58, gain=0.99, activations_mib_max=4.0),
        (w, "1f1b", 2): pipeline(p, 2, one_time, 0.97, gain=1.0),  # m < 4p: not an ideal row
    }


def check(res, cores, name, **kwargs):
    c = targets.Checker(res, cores)
    workload = kwargs.pop("w", "model_pipeline_p2")
    getattr(c, name)(workload, **kwargs)
    return c.rows[-1]


class PipelineTargets(unittest.TestCase):
    def test_prediction(self):
        self.assertEqual(check(results(), 2, "pipeline_prediction", factor=0.9)[3], "pass")
        r = check(results(predicted_1f1b=0.45), 2, "pipeline_prediction", factor=0.9)
        self.assertEqual(r[3], "MISS")
        self.assertIn("1f1b/8 75%", r[2])  # the lowest row named, with its ratio

    def test_ideal_against_one_device_at_the_same_m(self):
        # p = 2, m = 8: ideal 16/9 = 1.78x; 1F1B 1.0 / 0.6 = 1.67x = 94%, ZB-H1 2.0x, GPipe 94%.
        self.assertEqual(check(results(), 2, "pipeline_ideal", factor=0.9, base_workload="model_pipeline_p1",
                               base_impl="one_device")[3], "pass")
        r = check(results(), 2, "pipeline_ideal", factor=0.95, base_workload="model_pipeline_p1",
                  base_impl="one_device")
        self.assertEqual(r[3], "MISS")
        self.assertIn("1 of 3 rows; lowest 1f1b/8 94% of ideal", r[2])

    def test_oversubscribed_rows_are_left_out(self):
        res = results(p=4, zb_time=0.6 / 1.1)
        for name, kw in [("pipeline_prediction", dict(factor=0.9)),
                         ("faster_as_predicted", dict(impl="zb_h1", other="1f1b", tolerance=0.05))]:
            r = check(res, 2, name, w="model_pipeline_p4", **kw)
            self.assertEqual(r[3], "n/a", name)
            self.assertIn("at most 2 cores", r[2])
            self.assertEqual(check(res, 4, name, w="model_pipeline_p4", **kw)[3], "pass", name)

    def test_zb_h1_gain_as_predicted(self):
        # predicted 1.1x; measured 0.6 / zb_time
        ok = check(results(zb_time=0.6 / 1.1), 2, "faster_as_predicted", impl="zb_h1", other="1f1b", tolerance=0.05)
        self.assertEqual(ok[3], "pass")
        miss = check(results(zb_time=0.6), 2, "faster_as_predicted", impl="zb_h1", other="1f1b", tolerance=0.05)
        self.assertEqual(miss[3], "MISS")
        self.assertIn("measured 1.000x, predicted 1.100x", miss[2])

    def test_counter_ratio_at_an_argument(self):
        res = results()
        self.assertEqual(check(res, 2, "counter_ratio_at_most", counter="activations_mib_max", impl="1f1b",
                               other="gpipe", factor=1.0, arg=8)[3], "pass")
        self.assertEqual(check(res, 2, "counter_ratio_at_most", counter="activations_mib_max", impl="gpipe",
                               other="1f1b", factor=1.0, arg=8)[3], "MISS")
        self.assertEqual(check(res, 2, "counter_ratio_at_most", counter="activations_mib_max", impl="1f1b",
                               other="gpipe", factor=1.0)[3], "n/a")  # no row without an argument

    def test_references_for_the_manifest_check(self):
        t = type("T", (), {})()
        t.check, t.params = "pipeline_ideal", dict(factor=0.9, base_workload="model_pipeline_p1", base_impl="one_device")
        self.assertEqual(targets.references("model_pipeline_p2", t),
                         [("model_pipeline_p2", None, None), ("model_pipeline_p1", "one_device", None)])


if __name__ == "__main__":
    unittest.main()
