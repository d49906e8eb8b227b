"""task=survey: samples, predicted latency on the target, normalisation to FB, the curves."""

import dataclasses

import pandas as pd
import pytest

from app.config import validate
from hw.analyze import TargetLatency
from partition.config import FULL_EPSILONS, TRIMMED_EPSILONS
from tests.conftest import compose_config

SMALL = [
    "task=survey",
    "analysis.survey.samples=2",
    "analysis.survey.nodes=[16]",
    "analysis.survey.units=[2,3]",
    "analysis.survey.chunksize=1",
]


@pytest.mark.parametrize("workers", [1, 2])
def test_survey_writes_every_sample_and_a_summary(tmp_path, workers, capsys):
    from partition.survey import survey_task

    cfg = validate(compose_config(*SMALL, f"analysis.survey.workers={workers}"))
    result = survey_task(cfg, tmp_path, TargetLatency(cfg.hw))
    frame = pd.read_csv(result["csv"])
    assert len(frame) == 2 * 5 * 1 * 2 == result["analyses"]
    assert set(frame.generator) == {"er", "ba", "ws", "dp", "fb"}
    assert sorted(result["ranking"]) == ["ba", "dp", "er", "fb", "ws"]
    for gen, row in result["summary"].items():
        assert row["cs_q1"] <= row["cs_median"] <= row["cs_q3"]
        assert row["cs_median"] == pytest.approx(frame[frame.generator == gen].cs.median())
    assert (frame.latency_s > 0).all() and (frame.latency_single_s > 0).all()
    assert result["latency_model"]["target"] == cfg.hw.name
    names = {p.split("/")[-1] for p in result["plots"]}
    assert {"survey_cs.png", "survey_comm_fb.png", "survey_latency_fb.png", "survey_latency_units.png"} <= names
    for plot in result["plots"]:
        assert (tmp_path / plot.split("/")[-1]).stat().st_size > 1000
    curves = pd.read_csv(tmp_path / "survey_latency_units.csv")
    assert sorted(curves.units.unique()) == [1, 2, 3] and set(curves.generator) == {"dp", "fb"}
    out = capsys.readouterr().out
    assert "ranking by median CS" in out and "DP's predicted speed-up over FB" in out and "6–7×" in out
    speedup = result["cells"]["dp_speedup_over_fb"]["dp"]["16v_3u"]
    fb_median = frame[(frame.generator == "fb") & (frame.units == 3)].latency_s.median()
    dp_median = frame[(frame.generator == "dp") & (frame.units == 3)].latency_s.median()
    assert speedup == pytest.approx(fb_median / dp_median, rel=1e-3)


def test_each_sample_latency_is_the_list_schedule_of_its_partition_on_n_target_units():
    """Row figures = hw.analyze.latency_report of the row's best partition on n units of the target."""
    from hw.analyze import latency_report
    from hw.backends import create_backend
    from hw.target import target_from_config
    from partition.analyze import Analyzer
    from partition.survey import build_architecture, sample_rows, survey_settings

    cfg = validate(compose_config(*SMALL, "hw=aws_t2micro"))
    settings = survey_settings(cfg, TargetLatency(cfg.hw))
    arch = build_architecture(settings, "dp", 16, 1)
    rows = sample_rows({"generator": "dp"}, arch, [2, 3], Analyzer(settings.analysis), settings.latency)
    backend, target = create_backend(cfg.hw), target_from_config(cfg.hw)
    assert target.units == 10
    for row, units in zip(rows, (2, 3), strict=True):
        analysis = Analyzer(settings.analysis)(arch, units)
        report = latency_report(
            arch,
            analysis.assignment,
            dataclasses.replace(target, units=units),
            backend.vertex_latencies(arch),
            backend.predict(arch),
            cfg.hw.schedule_order,
        )
        assert row["latency_s"] == pytest.approx(report.distributed_s)
        assert row["latency_single_s"] == pytest.approx(report.single_s)
        assert row["units"] == units and row["cs"] == pytest.approx(analysis.cs)


def test_normalisation_divides_by_fb_median_of_the_same_cell():
    from partition.survey import cell_medians, normalise_to_reference

    frame = pd.DataFrame(
        {
            "generator": ["fb", "fb", "fb", "dp", "dp", "fb", "dp"],
            "nodes": [40, 40, 40, 40, 40, 80, 80],
            "units": [4, 4, 4, 4, 4, 4, 4],
            "comm": [10, 20, 30, 40, 10, 5, 50],
            "latency_s": [1.0, 2.0, 4.0, 1.0, 3.0, 0.5, 1.0],
        }
    )
    out = normalise_to_reference(frame)
    assert out.comm_fb.tolist() == pytest.approx([0.5, 1, 1.5, 2, 0.5, 1, 10])
    assert out.latency_fb.tolist() == pytest.approx([0.5, 1, 2, 0.5, 1.5, 1, 2])
    table = cell_medians(out, "latency_fb", ["dp", "fb"])
    assert table.loc["fb"].tolist() == [1, 1] and table.loc["dp", (40, 4)] == pytest.approx(1.0)


def test_median_sample_is_the_median_latency_on_the_most_units():
    from partition.survey import median_sample

    frame = pd.DataFrame(
        {
            "generator": ["dp"] * 6,
            "nodes": [40] * 6,
            "units": [2, 4] * 3,
            "seed": [0, 0, 1, 1, 2, 2],
            "latency_s": [9.0, 3.0, 1.0, 1.0, 0.1, 2.0],
        }
    )
    assert median_sample(frame, "dp", 40) == 2  # latencies on 4 units: 3, 1, 2 → the median is seed 2


def test_survey_partitioners_and_epsilons_are_its_own():
    from partition.survey import survey_settings

    cfg = validate(compose_config("experiment=paper_survey"))
    assert cfg.hw.name == "aws_t2micro"
    assert validate(compose_config("experiment=paper_survey", "hw=rpi4")).hw.name == "rpi4"
    settings = survey_settings(cfg, TargetLatency(cfg.hw))
    assert settings.analysis.partitioners == ["metis"] and settings.analysis.epsilons == TRIMMED_EPSILONS
    assert cfg.analysis.epsilons == FULL_EPSILONS  # task=analyze keeps the full sweep
    full_cfg = validate(compose_config("experiment=paper_survey", "analysis.survey.epsilons=null"))
    full = survey_settings(full_cfg, TargetLatency(full_cfg.hw))
    assert full.analysis.epsilons == FULL_EPSILONS
    with pytest.raises(ValueError, match="analysis.survey.epsilons must be >= 1"):
        validate(compose_config("analysis.survey.epsilons=[0.5]"))
    with pytest.raises(ValueError, match="analysis.survey.partitioners must be one of"):
        validate(compose_config("analysis.survey.partitioners=[nope]"))


def test_survey_uses_the_composed_generator_parameters():
    from partition.survey import generator_kwargs

    cfg = validate(compose_config("generator=dp", "generator.beta=0.3"))
    assert generator_kwargs(cfg, "dp")["params"]["beta"] == 0.3
    assert generator_kwargs(cfg, "fb")["orientation"] == "index"


def test_survey_params_override_one_generator_and_are_checked():
    from partition.survey import generator_kwargs

    cfg = validate(compose_config("+analysis.survey.params.er.p=0.05", "+analysis.survey.params.fb.per_stage=true"))
    assert generator_kwargs(cfg, "er")["params"] == {"p": 0.05}
    assert generator_kwargs(cfg, "fb")["params"]["per_stage"] is True
    assert generator_kwargs(cfg, "ws")["params"] == {"k": 4, "p": 0.25}
    assert generator_kwargs(cfg, "er", {"p": 0.2})["params"] == {"p": 0.2}  # explicit overrides win
    with pytest.raises(ValueError, match=r"analysis.survey.params.ws: unknown parameter\(s\) \['m'\]"):
        generator_kwargs(cfg, "ws", {"m": 2})
    with pytest.raises(ValueError, match=r"analysis.survey.params.er: unknown parameter\(s\) \['q'\]"):
        generator_kwargs(validate(compose_config("+analysis.survey.params.er.q=1")), "er")
    with pytest.raises(ValueError, match=r"analysis.survey.params.er: generator.p must be in \[0, 1\], got 2.0"):
        generator_kwargs(validate(compose_config("+analysis.survey.params.er.p=2.0")), "er")
    with pytest.raises(ValueError, match="'xx' is not one of the surveyed generators"):
        validate(compose_config("+analysis.survey.params.xx.p=0.1"))
    with pytest.raises(ValueError, match="no defaults"):
        generator_kwargs(cfg, "resnet50")
