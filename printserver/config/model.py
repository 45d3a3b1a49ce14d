"""The whole configuration file as one pydantic model, and what it decides: which printer a
called AE title selects, the built-in printer of a file that declares none."""

from __future__ import annotations

from pydantic import Field, model_validator

from printserver.config.printer import FilmSizeConfig, LayoutConfig, PrinterConfig
from printserver.config.sections import (
    ConfigError,
    CupsConfig,
    LimitsConfig,
    MetricsConfig,
    Section,
    ServerConfig,
    SpoolConfig,
    WebConfig,
)


class Config(Section):
    """The whole configuration file."""

    server: ServerConfig = ServerConfig()
    limits: LimitsConfig = LimitsConfig()
    spool: SpoolConfig = SpoolConfig()
    cups: CupsConfig = CupsConfig()
    web: WebConfig = WebConfig()
    metrics: MetricsConfig = MetricsConfig()
    printers: tuple[PrinterConfig, ...] = ()
    film_sizes: dict[str, FilmSizeConfig] = Field(
        default_factory=dict, description="film sizes beyond the DICOM defined terms"
    )

    @model_validator(mode="after")
    def _unique_printers(self) -> Config:
        seen: set[str] = set()
        for printer in self.printers:
            if printer.ae_title in seen:
                raise ValueError(f"printer AE title {printer.ae_title!r} is declared twice")
            seen.add(printer.ae_title)
        return self

    def with_site_tables(self, layouts: dict[int, LayoutConfig]) -> Config:
        """Give every printer the file's custom film sizes and the CUSTOM layouts."""
        printers = []
        for index, printer in enumerate(self.printers):
            completed = printer.model_copy(
                update={
                    "custom_film_sizes": {**self.film_sizes, **printer.custom_film_sizes},
                    "custom_layouts": {**layouts, **printer.custom_layouts},
                }
            )
            try:
                completed.check_film_sizes()
            except ValueError as exc:
                raise ConfigError(f"printers.{index}.film_sizes: {exc}") from None
            printers.append(completed)
        return self.model_copy(update={"printers": tuple(printers)})

    def with_default_printer(self) -> Config:
        """Add the built-in directory printer when the file declares none."""
        if self.printers:
            return self
        printer = PrinterConfig(
            ae_title=self.server.ae_title, directory=self.spool.directory / "output"
        )
        return self.model_copy(update={"printers": (printer,)})

    def printer_for(self, called_ae: str) -> PrinterConfig | None:
        """The logical printer a called AE title selects.

        The server's own AE title selects the first printer, so a modality set up
        with only the server's title still prints.
        """
        called_ae = called_ae.strip()
        for printer in self.printers:
            if printer.ae_title == called_ae:
                return printer
        if called_ae == self.server.ae_title and self.printers:
            return self.printers[0]
        return None
