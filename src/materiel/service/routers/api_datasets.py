"""/api/v1/datasets: the dataset the service runs on, its tables, edits and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from materiel.schema.tables import TABLES
from materiel.schema.validate import DatasetError
from materiel.service.auth import ApiRole, Principal
from materiel.service.context import Context, get_ctx
from materiel.service.data import RowNotFoundError
from materiel.service.schemas import AuditOut, DatasetOut, RowEdit, TableOut
from materiel.store import audit

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
Viewer = Annotated[Principal, Depends(ApiRole("viewer"))]
Admin = Annotated[Principal, Depends(ApiRole("admin"))]
Ctx = Annotated[Context, Depends(get_ctx)]
DatasetPath = Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$")]
TablePath = Annotated[str, Path(max_length=64, pattern=r"^[a-z_]+$")]
KeyPath = Annotated[
    str,
    Path(
        max_length=255,
        pattern=r"^[A-Za-z0-9_\-]+(,[A-Za-z0-9_\-]+)*$",
        description="key values joined by ',', e.g. UKR,shell_155",
    ),
]


def field_info(table: str) -> list[dict[str, Any]]:
    return [
        {
            "name": f.name,
            "dtype": f.dtype,
            "unit": f.unit,
            "description": f.description,
            "uncertain": f.uncertain,
            "ref": f.ref,
            "allowed": list(f.allowed) if f.allowed else None,
            "columns": list(f.columns),
        }
        for f in TABLES[table].fields
    ]


def dataset_out(ctx: Context) -> DatasetOut:
    ds = ctx.data.dataset()
    return DatasetOut(
        name=ds.meta.name,
        version=ds.meta.version,
        digest=ds.digest,
        start=ds.meta.start,
        description=ds.meta.description,
        tables={
            name: {
                "rows": len(ds.tables[name]),
                "origin": ctx.data.origin(name),
                "description": TABLES[name].description,
            }
            for name in TABLES
        },
    )


def _check(ctx: Context, dataset: str, table: str | None = None) -> None:
    if dataset != ctx.data.dataset().meta.name:
        raise HTTPException(
            404, f"no dataset '{dataset}'; this service runs on '{ctx.data.dataset().meta.name}'"
        )
    if table is not None and table not in TABLES:
        raise HTTPException(404, f"no table '{table}' (tables: {', '.join(TABLES)})")


@router.get("", response_model=list[DatasetOut], summary="The dataset the service runs on")
def list_datasets(user: Viewer, ctx: Ctx) -> list[DatasetOut]:
    return [dataset_out(ctx)]


@router.get("/{dataset}", response_model=DatasetOut, summary="Dataset metadata and tables")
def get_dataset(dataset: DatasetPath, user: Viewer, ctx: Ctx) -> DatasetOut:
    _check(ctx, dataset)
    return dataset_out(ctx)


@router.get("/{dataset}/tables/{table}", response_model=TableOut, summary="A table with its schema")
def get_table(dataset: DatasetPath, table: TablePath, user: Viewer, ctx: Ctx) -> TableOut:
    _check(ctx, dataset, table)
    rows = [
        {str(k): v for k, v in r.items()} for r in ctx.data.raw_tables()[table].to_dict("records")
    ]
    return TableOut(
        name=table,
        description=TABLES[table].description,
        origin=ctx.data.origin(table),
        key=list(TABLES[table].key),
        fields=field_info(table),
        rows=rows,
    )


@router.put(
    "/{dataset}/tables/{table}/rows/{key}",
    summary="Update or add a row (admin); validated against the whole dataset and audited",
)
def put_row(
    dataset: DatasetPath, table: TablePath, key: KeyPath, body: RowEdit, user: Admin, ctx: Ctx
) -> dict[str, Any]:
    _check(ctx, dataset, table)
    try:
        before, after = ctx.data.edit_row(ctx.store, user.name, table, key, body.values)
    except DatasetError:
        raise
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    return {"table": table, "key": key, "before": before, "after": after}


@router.delete("/{dataset}/tables/{table}/rows/{key}", summary="Delete a row (admin); audited")
def delete_row(
    dataset: DatasetPath, table: TablePath, key: KeyPath, user: Admin, ctx: Ctx
) -> dict[str, Any]:
    _check(ctx, dataset, table)
    try:
        before, _ = ctx.data.edit_row(ctx.store, user.name, table, key, None)
    except RowNotFoundError:
        raise HTTPException(404, f"no row '{key}' in {table}") from None
    except DatasetError:
        raise
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    return {"table": table, "key": key, "before": before, "after": None}


@router.get("/{dataset}/audit", response_model=list[AuditOut], summary="Audit log (admin)")
def get_audit(
    dataset: DatasetPath,
    user: Admin,
    ctx: Ctx,
    table: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditOut]:
    _check(ctx, dataset)
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            user=e.user,
            action=e.action,
            table=e.table_name,
            key=e.row_key,
            before=e.before,
            after=e.after,
        )
        for e in audit.entries(ctx.store, table, limit)
    ]
