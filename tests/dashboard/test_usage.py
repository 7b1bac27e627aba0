"""A project's usage page over real HTTP: the totals, the chart's data by day, the splits, the period
choice; read from the daily aggregates the writer keeps."""

from __future__ import annotations

import html
import re
import time

import httpx
import orjson
import pytest

from tests.dashboard.test_logs import traffic as traffic  # a project with 53 requests (shared fixture)

pytestmark = pytest.mark.usefixtures("users")
SERIES = re.compile(r'data-series="([^"]+)"')


def usage(browser: httpx.Client, project_id: str, **params: str) -> httpx.Response:
    for _ in range(300):  # the aggregates land with the records, in the background
        page = browser.get(f"/dashboard/projects/{project_id}/usage", params=params)
        assert page.status_code == 200
        if "<dt>Requests</dt><dd>53 (1 errors)</dd>" in page.text:
            return page
        time.sleep(0.03)
    raise AssertionError("the usage page never showed the 53 requests")


def test_the_usage_page_sums_the_periods_requests(browser: httpx.Client, traffic: str) -> None:
    page = usage(browser, traffic)
    series = orjson.loads(html.unescape(SERIES.search(page.text).group(1)))  # type: ignore[union-attr]
    xs, requests, errors, cost, tokens, hits = series
    assert len(errors) == len(tokens) == len(hits) == 30
    assert errors[-1] == 1  # the request for a model nothing serves
    assert tokens[-1] > 0
    assert sum(hits) == 0  # no cache on this project
    assert len(xs) == len(requests) == len(cost) == 30  # every day of the period, zeros included
    assert sum(requests) == 53
    assert requests[-1] == 53  # all of them today
    assert cost[-1] > 0
    assert "gpt-4o-mini" in page.text  # by model
    assert "<td>byok</td>" in page.text  # by lane: BYOK spend apart from pooled
    assert "<td>charge</td>" not in page.text  # a BYOK-only project is charged no credits
    spend = re.search(
        r"<dd>([0-9.]+) on the project's own keys \(BYOK\) · ([0-9.]+) on the pooled lane</dd>", page.text
    )
    assert spend is not None
    assert float(spend.group(1)) == pytest.approx(sum(cost), abs=1e-6)
    assert float(spend.group(2)) == 0
    assert re.search(
        r"<dt>Included tokens</dt><dd>"
        r"(0 of [0-9,]+ pooled tokens used this (month|day)|none in this plan)</dd>",
        page.text,
    )

    week = usage(browser, traffic, days="7")
    xs, requests, *_ = orjson.loads(html.unescape(SERIES.search(week.text).group(1)))  # type: ignore[union-attr]
    assert len(xs) == 7
    assert 'aria-current="page">Last 7 days' in week.text
    odd = usage(browser, traffic, days="1000")  # not a period on offer: the default
    assert len(orjson.loads(html.unescape(SERIES.search(odd.text).group(1)))[0]) == 30  # type: ignore[union-attr]


def test_vendored_files_are_served_and_nothing_else(browser: httpx.Client) -> None:
    for name in (
        "vendor/uplot-1.6.32.min.js",
        "vendor/uplot-1.6.32.LICENSE.txt",
        "vendor/htmx-2.0.11.min.js",
        "vendor/htmx-2.0.11.LICENSE.txt",
        "usage.js",
        "dashboard.css",
    ):
        assert browser.get(f"/dashboard/static/{name}").status_code == 200
    for name in (
        "../pages.py",
        "vendor/../../pages.py",
        ".hidden.js",
        "vendor/x/y.js",
        "pages.py",
        "nope.js",
    ):
        assert browser.get(f"/dashboard/static/{name}").status_code == 404
