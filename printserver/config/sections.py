"""Sections of the configuration file that describe the server itself.

The DICOM listener (with its optional TLS port), the spool and the way to CUPS.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_AE_TITLE = "PRINTSERVER"
DEFAULT_PORT = 11112

AETitle = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[\x20-\x5b\x5d-\x7e]+$")]
"""AE titles are 1-16 characters of the default repertoire without backslash (PS3.5 6.2)."""


class ConfigError(Exception):
    """A configuration problem, worded as one line naming the key and the reason."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(Section):
    """DICOM TLS (PS3.15 B.1, Basic TLS Secure Transport Connection Profile) on a second port."""

    port: int = Field(2762, ge=0, le=65535)
    certificate: Path
    private_key: Path
    ca_certificates: Path | None = Field(
        None, description="CA bundle to verify client certificates against"
    )
    require_client_certificate: bool = False

    @model_validator(mode="after")
    def _client_check_needs_ca(self) -> TlsConfig:
        if self.require_client_certificate and self.ca_certificates is None:
            raise ValueError("require_client_certificate needs ca_certificates")
        return self


class ServerConfig(Section):
    """The DICOM listener."""

    ae_title: AETitle = DEFAULT_AE_TITLE
    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_PORT, ge=0, le=65535)
    max_associations: int = Field(
        10, ge=1, le=1000, description="associations at once; more: A-ASSOCIATE-RJ 2/3/2"
    )
    max_pdu_size: int = Field(
        1_048_576,
        ge=4096,
        le=16_777_216,
        description="Maximum Length we advertise and enforce on every P-DATA-TF received",
    )
    max_associate_pdu_size: int = Field(
        65_536, ge=1024, le=1_048_576, description="largest A-ASSOCIATE-RQ PDU read"
    )
    acse_timeout: float = Field(
        30.0, gt=0, le=600, description="seconds to wait for A-ASSOCIATE-RQ and A-RELEASE"
    )
    network_timeout: float = Field(
        60.0, gt=0, description="an established association idle this long is aborted"
    )
    dimse_timeout: float = Field(30.0, gt=0, description="seconds to wait for a DIMSE reply")
    socket_timeout: float = Field(
        30.0, gt=0, le=600, description="a PDU begun but not finished within this is dropped"
    )
    tls_handshake_timeout: float = Field(
        10.0, gt=0, le=120, description="a TLS handshake not done within this is dropped"
    )
    max_pending_connections: int = Field(
        64, ge=1, le=10000, description="connections not yet associated, in total"
    )
    max_pending_per_address: int = Field(
        32, ge=1, le=10000, description="connections not yet associated, per peer address"
    )
    render_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=64,
        description="films rendered at once (default: the number of CPUs); each holds a page",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    allowed_calling_aes: tuple[AETitle, ...] = Field(
        (), description="calling AE titles accepted by every printer; empty = any"
    )
    layouts: Path | None = Field(
        None, description="a site's CUSTOM\\i layout files, added to the built-in ones"
    )
    tls: TlsConfig | None = None

    @field_validator("ae_title")
    @classmethod
    def _strip_ae(cls, value: str) -> str:
        return value.strip()


class LimitsConfig(Section):
    """What one peer may make the server hold, checked before anything is allocated."""

    max_image_bytes: int = Field(
        134_217_728,
        ge=1024,
        description="Rows × Columns × Samples × Bits Allocated / 8 of one image (C605)",
    )
    max_association_image_bytes: int = Field(
        536_870_912, ge=1024, description="pixel bytes one association may hold at once (C605)"
    )
    max_film_boxes_per_session: int = Field(50, ge=1, le=10000)
    max_pages_per_job: int = Field(50, ge=1, le=10000)
    max_jobs_per_association: int = Field(
        100, ge=1, le=100000, description="N-ACTIONs one association may spool (C601/C602)"
    )
    max_copies: int = Field(99, ge=1, le=10000)

    @property
    def max_message_bytes(self) -> int:
        """Largest DIMSE data set received: one image plus room for its attributes."""
        return self.max_image_bytes + 1_048_576


class SpoolConfig(Section):
    """Where jobs live and how the worker retries them."""

    directory: Path = Path("spool")
    retry_initial: float = Field(2.0, gt=0, le=5.0, description="first retry delay, seconds")
    retry_max: float = Field(60.0, gt=0, description="longest retry delay, seconds")
    poll_interval: float = Field(0.5, gt=0, le=10.0, description="how often CUPS jobs are followed")
    scan_interval: float = Field(2.0, gt=0, le=60.0, description="how often the spool is rescanned")
    keep_done_days: float = Field(7.0, ge=0, description="completed jobs are purged after this")
    stuck_after_minutes: float = Field(30.0, gt=0, description="a job at CUPS this long is flagged")
    min_free_mb: int = Field(200, ge=0, description="new films are refused below this free space")

    @property
    def min_free_bytes(self) -> int:
        """``min_free_mb`` in bytes (MiB, as ``df -m`` counts)."""
        return self.min_free_mb << 20


class CupsConfig(Section):
    """How to reach CUPS; empty server means the standard lookup (CUPS_SERVER, client.conf)."""

    server: str | None = None
