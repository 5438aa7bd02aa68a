"""Athena workgroup, views deployed from SQL files, and the opt-in QuickSight resources."""

from pathlib import Path

import pytest

from infra.quicksight import quicksight_type, visual
from infra.views import ViewError, load_views

VIEWS = Path(__file__).resolve().parent / "views"


def test_workgroup_enforces_an_encrypted_result_location(synth):
    (wg,) = synth.of_type("AWS::Athena::WorkGroup").values()
    props = wg["Properties"]
    assert props["Name"] == "fleetcast-dev"
    config = props["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    location = config["ResultConfiguration"]["OutputLocation"]["Fn::Join"][1]
    assert location[1]["Ref"].startswith("StorageAthenaResults") and location[2] == "/results/"
    assert config["BytesScannedCutoffPerQuery"] == 10240 * 1024 * 1024
    assert config["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}


def test_views_come_from_the_sql_files_in_dependency_order(synth_options):
    # Given three view files, one selecting from another (tests/infra/views)
    (views,) = synth_options.of_type("Custom::AthenaViews").values()
    props = views["Properties"]
    names = [v["Name"] for v in props["Views"]]
    # Then the custom resource creates all of them, a view after the view it uses
    assert sorted(names) == ["busiest_hours", "cost_vs_sla", "hourly_load", "scaling_plan"]
    assert names.index("hourly_load") < names.index("busiest_hours")
    assert props["Database"] == "fleetcast"
    assert props["WorkGroup"]["Ref"].startswith("AnalyticsWorkGroup")
    # and they wait for the tables they read
    assert all(dep.startswith("CatalogTable") for dep in views["DependsOn"] if "Table" in dep)
    assert len([d for d in views["DependsOn"] if d.startswith("CatalogTable")]) >= 9
    queries = {
        q["Properties"]["Name"]: q["Properties"] for q in synth_options.of_type("AWS::Athena::NamedQuery").values()
    }
    assert queries["view hourly_load"]["QueryString"].startswith("SELECT series_id, metric, date_trunc")


def test_the_repository_view_folder_is_the_default_source(synth):
    (views,) = synth.of_type("Custom::AthenaViews").values()
    assert [v["Name"] for v in views["Properties"]["Views"]] == [v.name for v in load_views()]


def test_view_files_must_be_single_queries_without_cycles(tmp_path):
    (tmp_path / "a.sql").write_text("SELECT * FROM b")
    (tmp_path / "b.sql").write_text("SELECT * FROM a")
    with pytest.raises(ViewError, match="cycle: a -> b -> a"):
        load_views(tmp_path)
    (tmp_path / "b.sql").write_text("DROP TABLE observations")
    with pytest.raises(ViewError, match="b.sql: must hold exactly one SELECT"):
        load_views(tmp_path)
    (tmp_path / "b.sql").unlink()
    (tmp_path / "Bad-Name.sql").write_text("SELECT 1")
    with pytest.raises(ViewError, match="lower-case"):
        load_views(tmp_path)


def test_ctes_are_not_mistaken_for_views(tmp_path):
    (tmp_path / "latest.sql").write_text("WITH hourly_load AS (SELECT 1 AS x) SELECT x FROM hourly_load")
    (tmp_path / "hourly_load.sql").write_text("SELECT 1 AS y")
    assert {v.name: v.depends_on for v in load_views(tmp_path)}["latest"] == ()


def test_quicksight_is_off_by_default(synth):
    assert not [k for k in synth.resources if k.startswith("QuickSight")]


def test_quicksight_data_source_datasets_and_dashboard_when_a_principal_is_given(synth_options):
    (source,) = synth_options.of_type("AWS::QuickSight::DataSource").values()
    assert source["Properties"]["Type"] == "ATHENA"
    assert source["Properties"]["Permissions"][0]["Principal"].endswith(":user/default/analyst")
    datasets = {
        d["Properties"]["DataSetId"]: d["Properties"]
        for d in synth_options.of_type("AWS::QuickSight::DataSet").values()
    }
    assert sorted(datasets) == [
        "fleetcast-prod-busiest_hours",
        "fleetcast-prod-cost_vs_sla",
        "fleetcast-prod-hourly_load",
        "fleetcast-prod-scaling_plan",
    ]
    hourly = datasets["fleetcast-prod-hourly_load"]
    assert hourly["ImportMode"] == "DIRECT_QUERY"
    columns = hourly["PhysicalTableMap"]["hourly-load"]["RelationalTable"]["InputColumns"]
    assert columns == [
        {"Name": "series_id", "Type": "STRING"},
        {"Name": "metric", "Type": "STRING"},
        {"Name": "hour", "Type": "DATETIME"},
        {"Name": "value", "Type": "DECIMAL"},
        {"Name": "bins", "Type": "INTEGER"},
    ]
    (dashboard,) = synth_options.of_type("AWS::QuickSight::Dashboard").values()
    sheets = {s["Name"]: s["Visuals"][0] for s in dashboard["Properties"]["Definition"]["Sheets"]}
    assert set(sheets["scaling_plan"]) == {"LineChartVisual"}
    assert set(sheets["cost_vs_sla"]) == {"BarChartVisual"}
    assert set(sheets["hourly_load"]) == {"TableVisual"}


def test_promised_charts_fall_back_to_a_table_when_columns_are_missing():
    full = visual("risk_heatmap", [("series_id", "STRING"), ("metric", "STRING"), ("predicted_p95", "DECIMAL")])
    wells = full["HeatMapVisual"]["ChartConfiguration"]["FieldWells"]["HeatMapAggregatedFieldWells"]
    assert wells["Columns"][0]["CategoricalDimensionField"]["Column"]["ColumnName"] == "metric"
    partial = visual("risk_heatmap", [("series_id", "STRING")])
    assert set(partial) == {"TableVisual"}


def test_duckdb_types_map_to_quicksight_types():
    assert [
        quicksight_type(t)
        for t in ("BIGINT", "DOUBLE", "DECIMAL(18,3)", "TIMESTAMP WITH TIME ZONE", "BOOLEAN", "STRUCT(a INTEGER)")
    ] == ["INTEGER", "DECIMAL", "DECIMAL", "DATETIME", "BOOLEAN", None]
