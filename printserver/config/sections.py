"""Sections of the configuration file that describe the server itself.

The DICOM listener (with its optional TLS port), the spool and the way to CUPS.
"""

from __future__ import annotations

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
    max_associations: int = Field(10, ge=1, le=1000)
    max_pdu_size: int = Field(0, ge=0)
    network_timeout: float = Field(60.0, gt=0)
    dimse_timeout: float = Field(30.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    allowed_calling_aes: tuple[AETitle, ...] = Field(
        (), description="calling AE titles accepted by every printer; empty = any"
    )
    layouts: Path | None = Field(
        None, description="directory of CUSTOM\\i layout files; default: the project's layouts/")
    tls: TlsConfig | None = None

    @field_validator("ae_title")
    @classmethod
    def _strip_ae(cls, value: str) -> str:
        return value.strip()


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


class CupsConfig(Section):
    """How to reach CUPS; empty server means the standard lookup (CUPS_SERVER, client.conf)."""

    server: str | None = None


