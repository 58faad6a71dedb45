"""Request and response bodies of the JSON API (they make its OpenAPI spec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from materiel.store.models import Run

MAX_DRAWS = 50_000
MAX_INT = 2**31 - 1
SAFE = r"^[^\x00-\x1f\x7f]*$"

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]
ActorId = Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[A-Z][A-Z0-9_]*$")]
RunId = Annotated[int, Field(ge=1, le=MAX_INT)]


class Message(BaseModel):
    detail: str


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, pattern=SAFE)
    password: str = Field(min_length=1, max_length=1024)
    name: str = Field("api", min_length=1, max_length=64, pattern=SAFE)


class TokenOut(BaseModel):
    token: str
    user: str
    role: str


class TokenInfo(BaseModel):
    """An API token as listed (never the token itself)."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    active: bool
    """False once revoked (one by one, by a password change or by disabling the user)."""


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=10, max_length=1024)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    password: str = Field(min_length=10, max_length=1024)
    role: Literal["viewer", "analyst", "admin"] = "viewer"


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["viewer", "analyst", "admin"] | None = None
    active: StrictBool | None = None
    """true or false only (0, 1 or "yes" are refused)."""


class UserOut(BaseModel):
    name: str
    role: str
    active: bool
    created_at: datetime


class SimulationIn(BaseModel):
    """A Monte Carlo simulation of one scenario (by name, or given in full)."""

    model_config = ConfigDict(extra="forbid")
    scenario: Name | None = Field(None, description="name of a bundled or saved scenario")
    scenario_version: int | None = Field(None, ge=0, le=MAX_INT)
    scenario_data: dict[str, Any] | None = Field(
        None, description="a full scenario (as in a scenario YAML file) instead of a name"
    )
    draws: int = Field(1000, ge=1, le=MAX_DRAWS)
    seed: int = Field(0, ge=0, le=MAX_INT)
    months: int | None = Field(None, ge=1, le=240, description="default: the scenario's")
    actor: ActorId = "UKR"


class PlanIn(BaseModel):
    """A capacity-expansion plan over one or more scenarios (weighted by probability)."""

    model_config = ConfigDict(extra="forbid")
    scenarios: list[Name] = Field(min_length=1, max_length=8)
    budget_eur_per_year: float | None = Field(None, ge=0, le=1e13, allow_inf_nan=False)
    months: int | None = Field(None, ge=1, le=120)
    actor: ActorId = "UKR"
    time_limit: float = Field(
        300, gt=0, le=3600, allow_inf_nan=False, description="solver time limit, seconds"
    )


class DatasetRef(BaseModel):
    name: str
    version: str
    digest: str


class RunOut(BaseModel):
    id: int
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    scenario: str
    scenario_version: str | None
    inputs_hash: str
    dataset: DatasetRef
    package_version: str
    seed: int | None
    draws: int | None
    months: int
    parameters: dict[str, Any]
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    summary: dict[str, Any] | None
    links: dict[str, str]

    @classmethod
    def of(cls, run: Run, base: str = "/api/v1/runs") -> RunOut:
        return cls(
            id=run.id,
            kind=run.kind,
            status=run.status,  # type: ignore[arg-type]
            progress=run.progress,
            scenario=run.scenario,
            scenario_version=run.scenario_version,
            inputs_hash=run.inputs_hash,
            dataset=DatasetRef(
                name=run.dataset_name, version=run.dataset_version, digest=run.dataset_digest
            ),
            package_version=run.package_version,
            seed=run.seed,
            draws=run.draws,
            months=run.months,
            parameters=run.parameters,
            error=run.error,
            created_by=run.created_by,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            summary=run.summary,
            links={
                "self": f"{base}/{run.id}",
                "results": f"{base}/{run.id}/results",
                "page": f"/runs/{run.id}",
            },
        )


class RunList(BaseModel):
    total: int
    runs: list[RunOut]


class ScenarioOut(BaseModel):
    name: str
    version: int
    bundled: bool
    scenario: dict[str, Any]


class ScenarioSummary(BaseModel):
    name: str
    description: str
    months: int
    probability: float
    bundled: bool
    version: int


class ScenarioSave(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: dict[str, Any] = Field(description="the scenario, as in a scenario YAML file")
    comment: str = Field("", max_length=500, pattern=SAFE)


class Issue(BaseModel):
    file: str
    row: int | None
    field: str | None
    message: str
    allowed: str | None


class ValidationOut(BaseModel):
    valid: bool
    issues: list[Issue]


class RowEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Annotated[str, Field(max_length=2000)]]


class AuditOut(BaseModel):
    id: int
    at: datetime
    user: str
    action: str
    table: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class TableOut(BaseModel):
    name: str
    description: str
    origin: str
    key: list[str]
    fields: list[dict[str, Any]]
    rows: list[dict[str, Any]]


class DatasetOut(BaseModel):
    name: str
    version: str
    digest: str
    start: str
    description: str
    tables: dict[str, dict[str, Any]]


class AnalysisOut(BaseModel):
    name: str
    title: str
    description: str
    stochastic: bool = False
    parameters: list[dict[str, Any]] = []


class AnalysisResult(BaseModel):
    name: str
    scenario: str
    scenario_version: int | None = None
    parameters: dict[str, Any] = {}
    rows: list[dict[str, Any]]
