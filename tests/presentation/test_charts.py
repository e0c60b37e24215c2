"""The SVG charts the page and the report share: labels escaped, values placed to scale, colours
saying pass or fail, and legends drawn as shapes (no glyph a print font may lack)."""

import re

from presentation.charts import Series, axis_ticks, evidence_chart, slo_series_chart, stacked_bars

LABELS = {"observed": "measured 3 %", "upper": "bound 4.1 %", "maximum": "maximum 5 %"}


def x_of(svg: str, css_class: str) -> float:
    return float(re.search(rf'<line x1="([\d.]+)"[^>]*class="{css_class}"', svg).group(1))


def test_an_evidence_chart_within_its_maximum_is_green_and_drawn_to_scale():
    svg = evidence_chart("Quality bar wrong_answers", 0.03, 0.041, 0.05, LABELS)
    assert svg.startswith('<svg class="chart evidence" role="img"')
    assert 'class="bar-ready"' in svg and "bar-blocked" not in svg
    # The scale runs to 1.25 x the largest value (0.0625) over 400 units from x=10.
    assert x_of(svg, "maximum") == 10 + 400 * 0.05 / 0.0625
    for label in LABELS.values():
        assert f">{label}</text>" in svg


def test_an_evidence_chart_whose_bound_passes_the_maximum_is_red():
    svg = evidence_chart("bar", 0.04, 0.06, 0.05, LABELS)
    assert 'class="bar-blocked"' in svg and "bar-ready" not in svg


def test_the_evidence_legend_is_shapes_and_words_only():
    svg = evidence_chart("bar", 0.0, 0.0, 0.0, LABELS)  # nothing measured: still a scale, no division by zero
    assert not re.search("[■⊢┆]", svg)


def test_labels_and_titles_are_escaped():
    hostile = "<script>alert(1)</script>"
    for svg in (
        evidence_chart(hostile, 0.01, 0.02, 0.05, dict.fromkeys(LABELS, hostile)),
        stacked_bars(hostile, [(hostile, [1, 2])], [Series(hostile, "bar-ready"), Series("b", "bar-blocked")]),
        slo_series_chart(hostile, [(0, 99.0, True)], 60, [(99.5, "target", hostile)], {"values": hostile}),
    ):
        assert "<script>" not in svg
        assert "&lt;script&gt;" in svg


def test_stacked_bars_write_each_row_s_total_and_skip_empty_series():
    svg = stacked_bars("Launches", [("Beta", [2, 0, 1]), ("Full", [0, 0, 0])], [Series(s, s) for s in "abc"])
    assert "<title>a: 2</title>" in svg and "<title>b: 0</title>" not in svg and "<title>c: 1</title>" in svg
    assert re.findall(r'class="chart-count">(\d+)<', svg) == ["3", "0"]


def test_a_long_legend_wraps_onto_another_line():
    series = [Series("A rather long series name " + str(n), f"s{n}") for n in range(4)]
    svg = stacked_bars("t", [("row", [1, 1, 1, 1])], series)
    legend_lines = set(re.findall(r'<text x="\d+" y="(\d+)" class="chart-legend"', svg))
    assert len(legend_lines) > 1


def test_an_slo_series_marks_missed_days_and_draws_its_lines():
    svg = slo_series_chart(
        "Success rate",
        [(0, 99.7, True), (1, 98.0, False), (59, 99.9, True)],
        60,
        [(99.5, "target", "Target 99.5 %"), (99.0, "alert", "Alert at 99 %")],
        {"values": "Daily value", "first": "1/1", "last": "3/1"},
    )
    assert svg.count('class="dot-ok"') == 2 + 1  # two days and the legend's mark
    assert svg.count('class="dot-miss"') == 1
    assert "<polyline" in svg
    assert ">Target 99.5 %<" in svg and ">Alert at 99 %<" in svg
    assert ">1/1<" in svg and ">3/1<" in svg


def test_an_slo_series_has_a_y_axis_with_round_values_in_its_unit():
    svg = slo_series_chart(
        "Success rate",
        [(0, 99.7, True), (1, 98.8, False)],
        60,
        [(99.5, "target", "Target 99.5 %")],
        {"values": "Daily value"},
        lambda tick: f"{tick:g} %",
    )
    labels = re.findall(r'class="chart-legend axis-label" text-anchor="end">([^<]+)<', svg)
    assert labels == ["98.75 %", "99 %", "99.25 %", "99.5 %", "99.75 %"]
    assert svg.count('class="tick"') == len(labels)


def test_axis_ticks_are_round_steps_within_the_range():
    assert axis_ticks(98.6, 100.2) == [99.0, 99.5, 100.0]
    assert axis_ticks(0, 1000) == [0, 200, 400, 600, 800, 1000]
    assert axis_ticks(5, 5) == [5]
