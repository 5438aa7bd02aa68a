"""QuickSight, opt-in (context ``quicksightPrincipalArn``): Athena data source, a dataset per view, a dashboard.

Datasets are direct-query (no SPICE capacity billed at rest). QuickSight needs each dataset's column
names and types up front; they are derived at synth by creating the same view files over empty
tables of the registry's schemas in DuckDB (the engine the local ``fleetcast query`` uses), after
translating Athena SQL with sqlglot. Array/struct columns are left out (QuickSight cannot chart them).

The dashboard has one sheet per view. A view named as below gets the chart the product promises
when it has the listed columns; any other view (or one missing a column) gets a table of all columns:

    forecast_vs_actual  line chart  ts -> actual, yhat, lo95, hi95
    risk_heatmap        heat map    series_id x metric -> predicted_p95
    scaling_plan        line chart  ts -> servers, coloured by policy
    cost_vs_sla         bar chart   policy -> cost, sla_violation_pct
"""

from __future__ import annotations

import duckdb
import sqlglot
from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_quicksight as qs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from fleetcast.lake.tables import Table
from infra.catalog import Catalog
from infra.config import Config
from infra.nag import GRANT_WILDCARDS, s3_findings, suppress
from infra.views import View

Columns = list[tuple[str, str]]  # (name, QuickSight type)

DATA_SOURCE_ACTIONS = [
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:DeleteDataSource",
    "quicksight:UpdateDataSourcePermissions",
]
DATASET_ACTIONS = [
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet",
    "quicksight:CreateIngestion",
    "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions",
]
DASHBOARD_ACTIONS = [
    "quicksight:DescribeDashboard",
    "quicksight:ListDashboardVersions",
    "quicksight:UpdateDashboardPermissions",
    "quicksight:QueryDashboard",
    "quicksight:UpdateDashboard",
    "quicksight:DeleteDashboard",
    "quicksight:DescribeDashboardPermissions",
    "quicksight:UpdateDashboardPublishedVersion",
]

# view name -> (visual kind, category/row columns, value columns, colour/column-dimension column)
CHARTS = {
    "forecast_vs_actual": ("line", ["ts"], ["actual", "yhat", "lo95", "hi95"], None),
    "risk_heatmap": ("heatmap", ["series_id"], ["predicted_p95"], "metric"),
    "scaling_plan": ("line", ["ts"], ["servers"], "policy"),
    "cost_vs_sla": ("bar", ["policy"], ["cost", "sla_violation_pct"], None),
}


def quicksight_type(duckdb_type: str) -> str | None:
    """QuickSight column type for a DuckDB type name, or None when QuickSight cannot use it.

    Examples
    --------
    >>> quicksight_type("VARCHAR"), quicksight_type("TIMESTAMP"), quicksight_type("VARCHAR[]")
    ('STRING', 'DATETIME', None)
    """
    t = duckdb_type.upper()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION")):
        return None
    if t.startswith(("TIMESTAMP", "DATE")):
        return "DATETIME"
    if t.startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL")):
        return "DECIMAL"
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"):
        return "INTEGER"
    if t == "BOOLEAN":
        return "BOOLEAN"
    return "STRING"


def view_columns(views: list[View], tables: dict[str, Table]) -> dict[str, Columns]:
    """Output columns of every view, from DuckDB over empty tables with the registry's schemas."""
    con = duckdb.connect()
    try:
        for table in tables.values():
            con.from_arrow(table.full_schema.empty_table()).create(table.name)
        columns = {}
        for view in views:
            sql = sqlglot.transpile(view.sql, read="athena", write="duckdb")[0]
            con.execute(f'CREATE VIEW "{view.name}" AS {sql}')
            described = con.execute(f'DESCRIBE "{view.name}"').fetchall()
            columns[view.name] = [
                (name, qtype) for name, dtype, *_ in described if (qtype := quicksight_type(dtype)) is not None
            ]
        return columns
    finally:
        con.close()


class QuickSight(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        catalog: Catalog,
        workgroup: str,
        views: list[View],
        buckets: list[s3.IBucket],
        athena_results: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        principal = config.quicksight_principal_arn
        service_role = iam.Role.from_role_name(self, "ServiceRole", config.quicksight_service_role)
        for bucket in buckets:
            bucket.grant_read(service_role)
        athena_results.grant_read_write(service_role)
        suppress(
            service_role,
            "IAM5",
            GRANT_WILDCARDS + " QuickSight's service role reads the lake and "
            "writes Athena results for the direct-query datasets.",
            findings=[f for b in (*buckets, athena_results) for f in s3_findings(b)],
        )
        self.data_source = qs.CfnDataSource(
            self,
            "DataSource",
            aws_account_id=Aws.ACCOUNT_ID,
            data_source_id=f"{config.prefix}-athena",
            name=f"fleetcast {config.env_name} (Athena)",
            type="ATHENA",
            data_source_parameters=qs.CfnDataSource.DataSourceParametersProperty(
                athena_parameters=qs.CfnDataSource.AthenaParametersProperty(work_group=workgroup)
            ),
            permissions=[qs.CfnDataSource.ResourcePermissionProperty(principal=principal, actions=DATA_SOURCE_ACTIONS)],
        )
        columns = view_columns(views, catalog.tables)
        self.datasets = {
            view.name: self._dataset(config, catalog, view.name, columns[view.name])
            for view in views
            if columns[view.name]
        }
        self.dashboard = self._dashboard(config, columns) if self.datasets else None

    def _dataset(self, config: Config, catalog: Catalog, view: str, columns: Columns) -> qs.CfnDataSet:
        key = view.replace("_", "-")  # map keys allow letters, digits and '-'
        table = qs.CfnDataSet.PhysicalTableProperty(
            relational_table=qs.CfnDataSet.RelationalTableProperty(
                data_source_arn=self.data_source.attr_arn,
                catalog="AwsDataCatalog",
                schema=catalog.database_name,
                name=view,
                input_columns=[qs.CfnDataSet.InputColumnProperty(name=n, type=t) for n, t in columns],
            )
        )
        return qs.CfnDataSet(
            self,
            f"DataSet-{view}",
            aws_account_id=Aws.ACCOUNT_ID,
            data_set_id=f"{config.prefix}-{view}",
            name=f"fleetcast {view}",
            import_mode="DIRECT_QUERY",
            physical_table_map={key: table},
            permissions=[
                qs.CfnDataSet.ResourcePermissionProperty(
                    principal=config.quicksight_principal_arn, actions=DATASET_ACTIONS
                )
            ],
        )

    def _dashboard(self, config: Config, columns: dict[str, Columns]) -> qs.CfnDashboard:
        definition = {
            "DataSetIdentifierDeclarations": [
                {"Identifier": view, "DataSetArn": dataset.attr_arn} for view, dataset in self.datasets.items()
            ],
            "Sheets": [
                {"SheetId": f"sheet-{i}", "Name": view[:100], "Visuals": [visual(view, columns[view])]}
                for i, view in enumerate(self.datasets)
            ],
        }
        dashboard = qs.CfnDashboard(
            self,
            "Dashboard",
            aws_account_id=Aws.ACCOUNT_ID,
            dashboard_id=f"{config.prefix}-dashboard",
            name=f"fleetcast {config.env_name}",
            permissions=[
                qs.CfnDashboard.ResourcePermissionProperty(
                    principal=config.quicksight_principal_arn, actions=DASHBOARD_ACTIONS
                )
            ],
        )
        dashboard.add_property_override("Definition", definition)
        return dashboard


def visual(view: str, columns: Columns) -> dict:
    """The QuickSight visual for ``view``: its promised chart when the columns are there, else a table."""
    types = dict(columns)
    kind, categories, values, colour = CHARTS.get(view, ("table", [], [], None))
    wanted = [*categories, *values, *([colour] if colour else [])]
    title = {"Visibility": "VISIBLE", "FormatText": {"PlainText": view.replace("_", " ")}}
    vid = f"{view}-visual"
    if kind == "table" or not all(c in types for c in wanted):
        wells = {
            "TableUnaggregatedFieldWells": {
                "Values": [{"FieldId": f"{view}.{name}", "Column": _col(view, name)} for name, _ in columns]
            }
        }
        return {"TableVisual": {"VisualId": vid, "Title": title, "ChartConfiguration": {"FieldWells": wells}}}
    measures = [
        {
            "NumericalMeasureField": {
                "FieldId": f"{view}.{v}",
                "Column": _col(view, v),
                "AggregationFunction": {"SimpleNumericalAggregation": "MAX" if kind == "heatmap" else "AVERAGE"},
            }
        }
        for v in values
    ]
    dims = [_dimension(view, c, types[c]) for c in categories]
    extra = [_dimension(view, colour, types[colour])] if colour else []
    if kind == "line":
        wells = {"LineChartAggregatedFieldWells": {"Category": dims, "Values": measures, "Colors": extra}}
        return {"LineChartVisual": {"VisualId": vid, "Title": title, "ChartConfiguration": {"FieldWells": wells}}}
    if kind == "heatmap":
        wells = {"HeatMapAggregatedFieldWells": {"Rows": dims, "Columns": extra, "Values": measures}}
        return {"HeatMapVisual": {"VisualId": vid, "Title": title, "ChartConfiguration": {"FieldWells": wells}}}
    wells = {"BarChartAggregatedFieldWells": {"Category": dims, "Values": measures, "Colors": extra}}
    return {"BarChartVisual": {"VisualId": vid, "Title": title, "ChartConfiguration": {"FieldWells": wells}}}


def _col(view: str, name: str) -> dict:
    return {"DataSetIdentifier": view, "ColumnName": name}


def _dimension(view: str, name: str, qtype: str) -> dict:
    if qtype == "DATETIME":
        return {
            "DateDimensionField": {"FieldId": f"{view}.{name}", "Column": _col(view, name), "DateGranularity": "HOUR"}
        }
    return {"CategoricalDimensionField": {"FieldId": f"{view}.{name}", "Column": _col(view, name)}}
