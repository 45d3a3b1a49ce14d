"""Sections of the configuration file that describe the server itself.

The DICOM listener (with its optional TLS port), the spool, the way to CUPS and the
operator web console.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

DEFAULT_AE_TITLE = "PRINTSERVER"
DEFAULT_PORT = 11112


def ae_title_value(value: str) -> str:
    """An AE title as DICOM compares it: leading and trailing spaces are not significant,
    case is (PS3.5 6.2, AE)."""
    stripped = value.strip(" ")
    if not stripped:
        raise ValueError("an AE title needs a character other than space")
    return stripped


AETitle = Annotated[
    str,
    Field(min_length=1, max_length=16, pattern=r"^[\x20-\x5b\x5d-\x7e]+$"),
    AfterValidator(ae_title_value),
]
"""AE titles are 1-16 characters of the default repertoire without backslash (PS3.5 6.2),
kept without their insignificant leading and trailing spaces."""


ListenPort = Annotated[int, Field(ge=0, le=65535)]
"""A TCP port to listen on; 0 lets the system choose a free one (tests)."""


class ConfigError(Exception):
    """A configuration problem, worded as one line naming the key and the reason."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(Section):
    """DICOM TLS (PS3.15 B.1, Basic TLS Secure Transport Connection Profile) on a second port."""

    port: ListenPort = 2762
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
    port: ListenPort = DEFAULT_PORT
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
    print_job_wait: float = Field(
        600.0,
        gt=0,
        le=86400,
        description="an association waiting for Print Job events outlives network_timeout "
        "up to this long",
    )
    unanswered_warning: float = Field(
        5.0, gt=0, le=600, description="a request not answered within this logs a WARNING"
    )
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
    protocol_log: bool = Field(
        False, description="log every PDU and DIMSE message at DEBUG (diagnosing a modality)"
    )
    allowed_calling_aes: tuple[AETitle, ...] = Field(
        (), description="calling AE titles accepted by every printer; empty = any"
    )
    layouts: Path | None = Field(
        None, description="a site's CUSTOM\\i layout files, added to the built-in ones"
    )
    tls: TlsConfig | None = None


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


_CUPS_HOST_PORT = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:/\s\[\]]+))(?::(?P<port>\d{1,5}))?$"
)


def cups_address(server: str) -> tuple[str, int | None]:
    """Host and port of a CUPS server named as ``CUPS_SERVER`` names it: ``host``,
    ``host:port``, ``[v6address]:port``, or the path of cupsd's socket (no port).
    Raises ValueError for anything else; the one reader of the form (settings, sink)."""
    if server.startswith("/") and not any(char.isspace() for char in server):
        return server, None
    match = _CUPS_HOST_PORT.match(server)
    if match is None:
        raise ValueError("must be host, host:port, [v6address]:port or a socket path")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range (1 to 65535)")
    return match["v6"] or match["host"], port


def _cups_server(value: str) -> str:
    cups_address(value)
    return value


CupsServer = Annotated[
    str,
    AfterValidator(_cups_server),
    Field(description="host, host:port, [v6]:port or a socket path, as CUPS_SERVER names it"),
]
CupsEncryption = Literal["if-requested", "never", "required", "always"]
"""IPP encryption: ``required`` upgrades the connection to TLS, ``always`` is IPPS."""


class CupsConfig(Section):
    """How to reach CUPS; empty server means the standard lookup (CUPS_SERVER, client.conf).

    ``timeout`` bounds every call (a submit gets a second more per MiB of document): a
    host that accepts connections and never answers holds only its own printer's lane.
    """

    server: CupsServer | None = None
    timeout: float = Field(20.0, gt=0, le=600, description="seconds one CUPS call may take")
    encryption: CupsEncryption = "if-requested"


WebUserName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]
PasswordHash = Annotated[
    str, Field(pattern=r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$")
]
"""``scrypt$n$r$p$salt$key`` in base64, as ``printserver web hash-password`` writes it."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses no other machine reaches."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class WebConfig(Section):
    """The operator web console, served by ``printserver serve``; off unless enabled.

    Films carry patient data, so anywhere but loopback it needs users to log in.
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: ListenPort = 11180
    users: dict[WebUserName, PasswordHash] = Field(
        default_factory=dict, description="user name → password hash; required off loopback"
    )
    session_minutes: float = Field(480.0, gt=0, le=10080, description="a login lasts this long")
    request_seconds: float = Field(
        5.0,
        ge=0.5,
        le=60,
        description="a client sends each request whole within this, or is cut off",
    )
    connections_per_address: int = Field(
        8, ge=2, le=1000, description="connections of one client address served at once; more wait"
    )
    certificate: Path | None = Field(None, description="PEM certificate: serve HTTPS")
    private_key: Path | None = None

    @model_validator(mode="after")
    def _safe(self) -> WebConfig:
        if (self.certificate is None) != (self.private_key is None):
            raise ValueError("certificate and private_key go together")
        if self.enabled and not self.users and not is_loopback(self.host):
            raise ValueError(
                f"the console on {self.host} shows patient data to the network; "
                "add [web.users] (printserver web hash-password) or bind 127.0.0.1"
            )
        return self


class MetricsConfig(Section):
    """Prometheus metrics on an HTTP listener of their own (not the web console's)."""

    enabled: bool = False
    host: str = Field("127.0.0.1", description="bind address of the /metrics endpoint")
    port: ListenPort = 9464
