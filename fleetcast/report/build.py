"""``build_report``: one self-contained HTML page from a lake's latest successful run.

Views, pictures first: forecast vs actual with 80/95 % bands (the busiest web service), the capacity
outlook of the most at-risk server metric, a risk heatmap by server and metric, the most at-risk
servers with days to breach, the scaling plan over the load, and cost vs SLA per policy.
"""

from __future__ import annotations

from html import escape

import polars as pl

from fleetcast.errors import FleetcastError
from fleetcast.lake.tables import FORECASTS, OBSERVATIONS, RISK_FLAGS, RUNS, SCALING_PLANS, SIMULATIONS
from fleetcast.report.svg import LEVEL_COLOURS, PALETTE, Chart, heatmap, scatter
from fleetcast.risk import daily_stats, finest_means

RANK = {"very_high": 0, "high": 1, "normal": 2, "underutilised": 3}
STYLE = """body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:960px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}figure{margin:0 0 8px}figcaption{font-weight:600;margin:6px 0}
svg.chart{width:100%;height:auto;background:#fff}.tick,.note,.legend{font-size:11px;fill:#444}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child,td.l{text-align:left}.muted{color:#777}"""

# Marks each chart the browser actually laid out (non-empty drawing box); tests read the marks.
CHECK = """for (const svg of document.querySelectorAll('svg.chart')) { const b = svg.getBBox();
svg.closest('figure').dataset.drawn = (b.width > 0 && b.height > 0 && svg.querySelectorAll(
'path.series,polygon.band,rect.cell,circle.point').length > 0) ? 'yes' : 'no'; }
document.body.dataset.viewsDrawn = document.querySelectorAll('figure[data-drawn=yes]').length;"""


def build_report(lake, run_id: str | None = None) -> str:
    """The report's HTML for ``run_id`` (default: the latest successful run)."""
    run = _run(lake, run_id)
    rid = run["run_id"]
    flags = lake.read(RISK_FLAGS, {"run_id": rid})
    forecasts = lake.read(FORECASTS, {"run_id": rid})
    plans = lake.read(SCALING_PLANS, {"run_id": rid})
    sims = lake.read(SIMULATIONS, {"run_id": rid})
    sections = [
        f"<h1>fleetcast report</h1><p class=muted>run {escape(rid)} ({escape(run['trigger'])}), finished "
        f"{run['finished_at']:%Y-%m-%d %H:%M} UTC; {run['series']} series; "
        f"model {escape(run['model_version'] or '-')}</p>",
        _headline(flags, sims),
        "<h2>Forecast vs actual</h2>", _operational_view(lake, forecasts),
        "<h2>Capacity outlook</h2>", _capacity_view(lake, flags, forecasts),
        "<h2>Risk by server and metric</h2>", _heatmap_view(flags),
        "<h2>Most at risk</h2>", _at_risk_table(flags),
        "<h2>Scaling plan over the load</h2>", _plan_view(plans),
        "<h2>Cost vs SLA per policy</h2>", _cost_view(sims),
    ]
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>fleetcast report {escape(rid)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(sections)}<script>{CHECK}</script></body></html>")


def _run(lake, run_id: str | None) -> dict:
    runs = lake.read(RUNS).filter(pl.col("status") == "succeeded")
    if run_id:
        runs = runs.filter(pl.col("run_id") == run_id)
    if runs.is_empty():
        raise FleetcastError(f"no successful run {'named ' + run_id + ' ' if run_id else ''}in the lake "
                             f"{lake.root}: run `fleetcast run` or `fleetcast demo` first")
    return runs.sort("run_id").row(-1, named=True)


def _headline(flags: pl.DataFrame, sims: pl.DataFrame) -> str:
    h30 = flags.filter(pl.col("horizon_days") == flags["horizon_days"].min()) if flags.height else flags
    counts = {lvl: h30.filter(pl.col("level") == lvl)["series_id"].n_unique() for lvl in RANK}
    text = (f"{counts['very_high']} servers very likely above 90% and {counts['high']} above 80% within "
            f"{h30['horizon_days'].min() if h30.height else 30} days; {counts['underutilised']} underutilised.")
    best = sims.filter(pl.col("kind") == "predictive").sort("cost").head(1)
    if best.height:
        b = best.row(0, named=True)
        text += (f" Cheapest predictive policy: {b['policy']} saves {b['saving_vs_static_pct']:.0f}% vs a static "
                 f"fleet with {b['sla_violation_pct']:.2f}% SLA-violating intervals.")
    return f"<p><b>{escape(text)}</b></p>"


def _operational_view(lake, forecasts: pl.DataFrame) -> str:
    ops = forecasts.filter(pl.col("granularity") != "1d")
    if ops.is_empty():
        return "<p class=muted>No operational forecasts in this run.</p>"
    metric = "request_count" if (ops["metric"] == "request_count").any() else ops["metric"][0]
    chosen = ops.filter(pl.col("metric") == metric)
    series_id = chosen["series_id"][0]
    fc = chosen.filter(pl.col("series_id") == series_id).sort("ts")
    granularity = fc["granularity"][0]
    span = (fc["ts"].max() - fc["ts"].min()) * 2
    actual = (lake.scan(OBSERVATIONS, {"granularity": granularity})
              .filter((pl.col("series_id") == series_id) & (pl.col("metric") == metric)
                      & (pl.col("ts") >= fc["ts"].min() - span)).sort("ts").collect())
    chart = (Chart(f"{series_id}: {metric} per {granularity}, history and forecast ({fc['model'][0]})", metric)
             .band(fc["ts"].to_numpy(), fc["lo95"].to_numpy(), fc["hi95"].to_numpy(), PALETTE["band95"])
             .band(fc["ts"].to_numpy(), fc["lo80"].to_numpy(), fc["hi80"].to_numpy(), PALETTE["band80"])
             .line("actual", actual["ts"].to_numpy(), actual["value"].to_numpy(), PALETTE["actual"])
             .line("forecast", fc["ts"].to_numpy(), fc["yhat"].to_numpy(), PALETTE["forecast"]))
    return chart.svg()


def _capacity_view(lake, flags: pl.DataFrame, forecasts: pl.DataFrame) -> str:
    worst = _ranked(flags).head(1)
    cap = forecasts.filter(pl.col("granularity") == "1d")
    if worst.is_empty() or cap.is_empty():
        return "<p class=muted>No capacity forecasts in this run.</p>"
    w = worst.row(0, named=True)
    fc = cap.filter((pl.col("series_id") == w["series_id"]) & (pl.col("metric") == w["metric"] + "_daily_p95"))
    fc = fc.sort("ts")
    obs = lake.scan(OBSERVATIONS).filter(pl.col("series_id") == w["series_id"]).collect()
    daily = daily_stats(finest_means(obs)).filter(pl.col("metric") == w["metric"]).tail(120)
    chart = (Chart(f"{w['series_id']} {w['metric']}: daily P95, last {daily.height} days and {fc.height} days ahead "
                   f"({w['level']}, {w['reason']})", "daily P95 %")
             .band(fc["ts"].to_numpy(), fc["lo95"].to_numpy(), fc["hi95"].to_numpy(), PALETTE["band95"])
             .band(fc["ts"].to_numpy(), fc["lo80"].to_numpy(), fc["hi80"].to_numpy(), PALETTE["band80"])
             .line("daily P95", daily["day"].cast(pl.Datetime("us")).to_numpy(), daily["p95"].to_numpy(),
                   PALETTE["actual"])
             .line("forecast", fc["ts"].to_numpy(), fc["yhat"].to_numpy(), PALETTE["forecast"])
             .rule(90, "very high 90%").rule(80, "high 80%"))
    return chart.svg()


def _heatmap_view(flags: pl.DataFrame) -> str:
    if flags.is_empty():
        return "<p class=muted>No server metrics in this run.</p>"
    ranked = _ranked(flags)
    rows = ranked["series_id"].unique(maintain_order=True).head(40).to_list()
    cols = [f"{m} {h}d" for m in sorted(flags["metric"].unique()) for h in sorted(flags["horizon_days"].unique())]
    cells = {(r["series_id"], f"{r['metric']} {r['horizon_days']}d"): (r["level"], r["reason"])
             for r in flags.iter_rows(named=True)}
    more = f" (the {len(rows)} most at risk of {flags['series_id'].n_unique()})" if len(rows) < flags[
        "series_id"].n_unique() else ""
    return heatmap(f"risk level per server, metric and horizon{more}", rows, cols, cells)


def _at_risk_table(flags: pl.DataFrame, limit: int = 12) -> str:
    top = _ranked(flags.filter(pl.col("level").is_in(["high", "very_high"]))).head(limit)
    if top.is_empty():
        return "<p>No server is likely to run out of headroom within the horizons.</p>"
    head = ("<table><tr><th>server</th><th>metric</th><th>level</th><th>horizon</th><th>days to breach</th>"
            "<th>first breach</th><th>forecast peak P95</th><th>probability</th></tr>")
    rows = "".join(
        f"<tr><td>{escape(r['series_id'])}</td><td class=l>{escape(r['metric'])}</td><td class=l>"
        f"<span style='color:{LEVEL_COLOURS[r['level']]}'>■</span> {r['level']}</td><td>{r['horizon_days']} d</td>"
        f"<td>{r['days_to_breach']}</td><td>{r['first_breach_date']}</td><td>{r['predicted_p95']:.1f}%</td>"
        f"<td>{r['breach_probability']:.0%}</td></tr>" for r in top.iter_rows(named=True))
    return head + rows + "</table>"


def _plan_view(plans: pl.DataFrame) -> str:
    if plans.is_empty():
        return "<p class=muted>No access-log series to plan for in this run.</p>"
    series_id = plans["series_id"][0]
    p = plans.filter(pl.col("series_id") == series_id)
    policy = "balanced" if (p["policy"] == "balanced").any() else p["policy"][0]
    bal = p.filter(pl.col("policy") == policy).sort("ts")
    static = p.filter(pl.col("policy") == "static_peak").sort("ts")
    chart = Chart(f"{series_id}: load vs capacity provisioned by the {policy} policy (replay)", "load per interval")
    chart.line("load", bal["ts"].to_numpy(), bal["load"].to_numpy(), PALETTE["actual"])
    chart.line(f"{policy} capacity", bal["ts"].to_numpy(), bal["capacity"].to_numpy(), PALETTE["plan"], step=True)
    if static.height:
        chart.line("static peak capacity", static["ts"].to_numpy(), static["capacity"].to_numpy(), PALETTE["history"],
                   step=True)
    return chart.svg()


def _cost_view(sims: pl.DataFrame) -> str:
    if sims.is_empty():
        return ""
    s = sims.filter(pl.col("series_id") == sims["series_id"][0])
    static_cost = s.filter(pl.col("policy") == "static_peak")["cost"]
    base = float(static_cost[0]) if static_cost.len() and static_cost[0] else float(s["cost"].max())
    colours = {"predictive": PALETTE["forecast"], "reactive": PALETTE["plan"], "static": PALETTE["history"]}
    points = [(r["policy"], 100 * r["cost"] / base, r["sla_violation_pct"], colours.get(r["kind"], "#888"))
              for r in s.iter_rows(named=True) if r["kind"] != "reactive-matched"]
    table = ("<table><tr><th>policy</th><th>cost</th><th>saving vs static</th><th>SLA-violating intervals</th>"
             "<th>scaling events</th><th>mean servers</th></tr>" + "".join(
                 f"<tr><td>{escape(r['policy'])}</td><td>{r['cost']:,.2f}</td><td>{r['saving_vs_static_pct']:.1f}%</td>"
                 f"<td>{r['sla_violation_pct']:.3f}%</td><td>{r['scaling_events']}</td><td>{r['mean_servers']:.1f}</td>"
                 "</tr>" for r in s.sort("cost").iter_rows(named=True)) + "</table>")
    return scatter(f"{s['series_id'][0]}: cost (% of static peak) vs SLA-violating intervals (%)", points,
                   "cost, % of the static fleet", "SLA-violating intervals %") + table


def _ranked(flags: pl.DataFrame) -> pl.DataFrame:
    return flags.with_columns(rank=pl.col("level").replace_strict(RANK, return_dtype=pl.Int8)).sort(
        "rank", pl.col("days_to_breach").fill_null(10_000), pl.col("predicted_p95"), descending=[False, False, True])
