"""Colour management with LittleCMS (issue 13, item 2): printed over DICOM, read back with
Ghostscript, compared with what LittleCMS computes for the same patches.

The source of a colour image is its ICC Profile (0028,2000), else sRGB (PS3.3 C.11.15);
the destination is the printer's profile (sRGB by default, CMYK gives DeviceCMYK) or, on a
grayscale printer, the image's CIE L* printed as a grayscale image of it would be.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageCms
from pydicom.dataset import Dataset
from pynetdicom import sop_class

from printserver.config import ConfigError, parse_config
from printserver.model.printer import Printer
from printserver.net.printer import configuration_dataset
from printserver.render import colour
from tests.cups_harness import CupsQueue
from tests.ghostscript import render_cmyk8, render_gray16, render_rgb8
from tests.print_client import PrintClient, box_uids, color_item, output_files
from tests.server_harness import (
    InProcessServer,
    config_text,
    directory_config,
    start_in_process,
)

ADOBE_RGB = Path("/usr/share/color/icc/colord/AdobeRGB1998.icc")  # Debian colord-data
SWOP_CMYK = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")  # Debian ghostscript
GRAY_PROFILE = Path("/usr/share/color/icc/ghostscript/sgray.icc")
DPI = 100
PATCHES = np.array(
    [
        [(200, 40, 40), (40, 160, 60), (50, 70, 200)],
        [(220, 200, 60), (128, 128, 128), (90, 180, 200)],
    ],
    np.uint8,
)
PATCH_PX = 40


def patch_image(patches: npt.NDArray[np.uint8] = PATCHES) -> npt.NDArray[np.uint8]:
    """Flat patches, PATCH_PX square each, in a 2 × 3 grid."""
    return np.repeat(np.repeat(patches, PATCH_PX, axis=0), PATCH_PX, axis=1)


def tagged(rgb: npt.NDArray[np.uint8], profile: bytes | None) -> Dataset:
    item = color_item(rgb)
    if profile is not None:
        item.ICCProfile = profile
    return item


def littlecms(source: Path | None, output: Path | str | None, mode: str) -> npt.NDArray[np.float64]:
    """The patches through LittleCMS directly, perceptual intent: (2, 3, channels)."""
    src = ImageCms.getOpenProfile(str(source)) if source else ImageCms.createProfile("sRGB")
    if output == "LAB":
        out = ImageCms.createProfile("LAB")
    else:
        out = ImageCms.getOpenProfile(str(output)) if output else ImageCms.createProfile("sRGB")
    transform = ImageCms.buildTransform(src, out, "RGB", mode)
    result = np.asarray(transform.apply(Image.fromarray(PATCHES)), dtype=np.float64)
    return result


def image_rect(page: npt.NDArray[np.generic], left: int, right: int) -> tuple[int, int, int, int]:
    """Bounds (y0, y1, x0, x1) of what differs from the border within columns left..right."""
    region = page[:, left:right]
    border = page[0, 0]
    differs = region != border
    if differs.ndim == 3:
        differs = differs.any(axis=2)
    rows, cols = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, left + int(cols[0]), left + int(cols[-1]) + 1


def patch_means(
    page: npt.NDArray[np.generic], left: int = 0, right: int | None = None
) -> npt.NDArray[np.float64]:
    """Mean value of the central half of each patch of the printed image: (2, 3[, channels])."""
    y0, y1, x0, x1 = image_rect(page, left, page.shape[1] if right is None else right)
    height, width = (y1 - y0) / 2, (x1 - x0) / 3
    means = []
    for row in range(2):
        for column in range(3):
            top, side = y0 + (row + 0.25) * height, x0 + (column + 0.25) * width
            area = page[round(top) : round(top + height / 2), round(side) : round(side + width / 2)]
            means.append(area.reshape(-1, *page.shape[2:]).astype(np.float64).mean(axis=0))
    return np.array(means).reshape(2, 3, *page.shape[2:])


def print_colour(port: int, items: list[Dataset], called: str = "PRINTSERVER") -> None:
    """One colour film of ``len(items)`` boxes side by side; every request must succeed."""
    client = PrintClient(port, called, color=True)
    _, session = client.session()
    _, box, reply = client.film_box(session, f"STANDARD\\{len(items)},1", FilmSizeID="8INX10IN")
    for position, (uid, item) in enumerate(zip(box_uids(reply), items, strict=True), start=1):
        assert client.set_image(uid, position, item).Status == 0
    assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
    client.release()


@pytest.fixture
def colour_server(tmp_path: Path) -> InProcessServer:
    return start_in_process(directory_config(tmp_path, f"dpi = {DPI}"))


def test_an_adobe_rgb_image_prints_as_littlecms_computes(
    cups_queue: CupsQueue, tmp_path: Path
) -> None:
    """Acceptance 2: Adobe RGB patches print, on the Ghostscript raster of what reached the
    CUPS device, with LittleCMS's Adobe RGB → sRGB colours (mean error ≤ 2); the same
    image untagged prints as sRGB."""
    printer = f'[[printers]]\nae_title = "PRINTSERVER"\ncups_queue = "{cups_queue.queue}"\n'
    printer += f"dpi = {DPI}\n"
    extra = f'[cups]\nserver = "{cups_queue.server}"\n'
    running = start_in_process(parse_config(config_text(tmp_path / "spool", 0, printer, extra)))
    rgb = patch_image()
    try:
        print_colour(running.port, [tagged(rgb, ADOBE_RGB.read_bytes()), tagged(rgb, None)])
        (at_device,) = cups_queue.sink.wait_for(1, timeout=60)
    finally:
        running.server.stop()
    (page,) = render_rgb8(at_device, DPI)
    middle = page.shape[1] // 2
    managed, as_sent = patch_means(page, 0, middle), patch_means(page, middle)
    expected = littlecms(ADOBE_RGB, None, "RGB")
    assert np.abs(managed - expected).mean() <= 2, (managed, expected)
    assert np.abs(as_sent - PATCHES).max() <= 1, as_sent
    assert np.abs(managed - as_sent).max() > 10  # measurably different
    assert np.abs(expected - PATCHES).mean() > 3


def test_a_cmyk_printer_profile_gives_devicecmyk(tmp_path: Path) -> None:
    """Acceptance 3: a CMYK output profile gives DeviceCMYK that Ghostscript renders with
    LittleCMS's sRGB → CMYK values for each patch; the black border is black ink alone."""
    running = start_in_process(
        directory_config(tmp_path, f'dpi = {DPI}\nicc_profile = "{SWOP_CMYK}"')
    )
    try:
        print_colour(running.port, [tagged(patch_image(), None)])
        ps = output_files(tmp_path / "output", 1)[0]
    finally:
        running.server.stop()
    assert b"/DeviceCMYK setcolorspace" in ps.read_bytes()
    (page,) = render_cmyk8(ps, DPI)
    assert page.shape[2] == 4 and tuple(page[0, 0]) == (0, 0, 0, 255)
    expected = littlecms(None, SWOP_CMYK, "CMYK")
    measured = patch_means(page)
    assert np.abs(measured - expected).mean() <= 2, (measured, expected)


def test_a_grayscale_printer_prints_a_colour_image_as_its_lightness(tmp_path: Path) -> None:
    """Acceptance 3: on a grayscale printer the colour image prints exactly as a grayscale
    image of its CIE L* (through its Adobe RGB profile) does, not as one of its channels."""
    running = start_in_process(directory_config(tmp_path, f"dpi = {DPI}\ncolor = false"))
    lightness = np.rint(littlecms(ADOBE_RGB, "LAB", "LAB")[:, :, 0]).astype(np.uint16)
    try:
        print_colour(running.port, [tagged(patch_image(), ADOBE_RGB.read_bytes())])
        output_files(tmp_path / "output", 1)
        client = PrintClient(running.port)
        _, session = client.session()
        _, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
        gray = np.repeat(np.repeat(lightness, PATCH_PX, axis=0), PATCH_PX, axis=1)
        assert client.gray(box_uids(reply)[0], 1, gray, bits=8).Status == 0
        assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
        client.release()
        colour_ps, gray_ps = output_files(tmp_path / "output", 2)
    finally:
        running.server.stop()
    assert b"/DeviceGray setcolorspace" in colour_ps.read_bytes()
    (colour_page,) = render_gray16(colour_ps, DPI)
    (gray_page,) = render_gray16(gray_ps, DPI)
    from_colour, from_gray = patch_means(colour_page), patch_means(gray_page)
    assert np.abs(from_colour - from_gray).max() <= 1, (from_colour, from_gray)
    for channel in range(3):  # no channel alone gives these grays
        assert not np.array_equal(
            np.argsort(PATCHES[:, :, channel], axis=None), np.argsort(lightness, axis=None)
        )
    assert np.array_equal(np.argsort(from_colour, axis=None), np.argsort(lightness, axis=None))


def test_a_corrupt_icc_profile_is_refused_and_the_association_carries_on(
    colour_server: InProcessServer,
) -> None:
    """Acceptance 4: 0x0106 with an Error Comment naming ICC Profile at N-SET; then the
    same box takes a good image and the film prints."""
    rgb = patch_image()
    client = PrintClient(colour_server.port, color=True)
    try:
        _, session = client.session()
        _, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
        uid = box_uids(reply)[0]
        truncated = ADOBE_RGB.read_bytes()[:200]
        garbled = bytearray(ADOBE_RGB.read_bytes())
        garbled[16:20] = b"\xe2\x80\x99!"  # a colour space of bytes that are not a name
        for profile, words in (
            (b"\x00" * 64 + b"not a profile", "cannot be parsed"),
            (truncated, "cannot be parsed"),
            (bytes(garbled), "has no readable colour space"),
            (GRAY_PROFILE.read_bytes(), "is GRAY"),
        ):
            status = client.set_image(uid, 1, tagged(rgb, profile))
            assert status.Status == 0x0106
            assert status.ErrorComment.startswith("ICC Profile (0028,2000) " + words)
        assert client.set_image(uid, 1, tagged(rgb, ADOBE_RGB.read_bytes())).Status == 0
        assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
        client.release()
        ps = output_files(colour_server.config.printers[0].directory, 1)[0]
    finally:
        client.release()
        colour_server.server.stop()
    (page,) = render_rgb8(ps, DPI)
    assert np.abs(patch_means(page) - littlecms(ADOBE_RGB, None, "RGB")).mean() <= 2


def test_a_printer_profile_that_cannot_be_used_stops_the_server(tmp_path: Path) -> None:
    """The printer's profile is parsed once, when the printer is made: a bad one is loud."""
    bad = tmp_path / "bad.icc"
    bad.write_bytes(b"\x00" * 300)
    for path, words in (
        (bad, "cannot be parsed"),
        (tmp_path / "none.icc", "No such file"),
        (GRAY_PROFILE, "is GRAY"),
    ):
        settings = directory_config(tmp_path, f'icc_profile = "{path}"').printers[0]
        with pytest.raises(ConfigError, match=words):
            Printer.of(settings)
    with pytest.raises(ConfigError, match="color = false"):
        directory_config(tmp_path, f'color = false\nicc_profile = "{SWOP_CMYK}"')


def test_printer_configuration_retrieval_names_the_profile_and_intent(tmp_path: Path) -> None:
    config = directory_config(
        tmp_path, f'icc_profile = "{SWOP_CMYK}"\nrendering_intent = "relative_colorimetric"'
    )
    printer = Printer.of(config.printers[0])
    text = configuration_dataset(printer).PrinterConfigurationSequence[0]
    description = str(text.ConfigurationInformationDescription)
    assert "Artifex CMYK SWOP Profile (CMYK)" in description
    assert "relative colorimetric intent" in description
    default = Printer.of(directory_config(tmp_path).printers[0])
    assert (
        "sRGB"
        in configuration_dataset(default)
        .PrinterConfigurationSequence[0]
        .ConfigurationInformationDescription
    )


def test_transforms_are_built_once_per_profile_pair() -> None:
    """The transform is cached per (source profile bytes, output, intent)."""
    adobe = ADOBE_RGB.read_bytes()
    output = colour.output_colour(SWOP_CMYK.read_bytes(), "relative_colorimetric")
    colour.convert(patch_image(), adobe, output)
    before = colour._transform.cache_info()
    colour.convert(patch_image(), bytes(adobe), output)  # equal bytes, another object
    after = colour._transform.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


@pytest.mark.parametrize("space", ["RGB", "CMYK", "GRAY"])
def test_neutral_images_take_littlecms_values_from_a_table(space: str) -> None:
    """Grayscale content sent as RGB goes through a table of LittleCMS's 256 grays: the same
    values as LittleCMS gives pixel by pixel (one pixel made not neutral forces that path)."""
    output = {
        "RGB": colour.SRGB,
        "CMYK": colour.output_colour(SWOP_CMYK.read_bytes()),
        "GRAY": colour.LIGHTNESS,
    }[space]
    gray = np.random.default_rng(3).integers(0, 256, (64, 48), dtype=np.uint8)
    neutral = np.stack([gray] * 3, axis=-1)
    coloured = neutral.copy()
    coloured[-1, -1, 1] ^= 1
    for invert in (False, True):
        table = colour.convert(neutral, ADOBE_RGB.read_bytes(), output, invert=invert)
        exact = colour.convert(coloured, ADOBE_RGB.read_bytes(), output, invert=invert)
        assert table.shape == exact.shape
        assert np.array_equal(table[:-1], exact[:-1]) and np.array_equal(
            table[-1, :-1], exact[-1, :-1]
        )


def test_the_renderer_draws_the_transformed_image_reverse_polarity_first() -> None:
    """A tagged image renders as its LittleCMS transform would, untagged; REVERSE inverts the
    RGB values before the transform (neutral images too, through their view of one plane)."""
    from printserver.render.compose import render_sheet
    from printserver.render.geometry import Box, PageGeometry
    from printserver.render.sheet import FilmSheet, SheetImage

    adobe = ADOBE_RGB.read_bytes()
    gray = np.random.default_rng(5).integers(0, 256, (30, 20), dtype=np.uint8)
    for rgb in (patch_image()[::8, ::8], np.stack([gray] * 3, axis=-1)):
        for invert in (False, True):
            exact = np.ascontiguousarray(colour.convert(rgb, adobe, colour.SRGB, invert=invert))
            pages = [
                render_sheet(
                    FilmSheet(
                        page=PageGeometry(40.0, 30.0, dpi=50),
                        boxes=(Box(0, 0, 1, 1),),
                        images={1: image},
                        color=True,
                    )
                )
                for image in (
                    SheetImage(rgb, 8, invert=invert, icc_profile=adobe),
                    SheetImage(exact, 8),
                )
            ]
            assert np.array_equal(pages[0], pages[1])


def test_previews_read_devicecmyk_back_as_rgb(tmp_path: Path) -> None:
    """The operator preview (postscript/reader.py) shows a DeviceCMYK page, naively as RGB."""
    from printserver.postscript import PageSpec, write_postscript
    from printserver.postscript.reader import read_pages

    raster = np.zeros((20, 30, 4), np.uint8)
    raster[:, :10] = (0, 0, 0, 255)  # black ink
    raster[:, 10:20] = (255, 0, 0, 0)  # cyan
    path = tmp_path / "cmyk.ps"
    with open(path, "wb") as out:
        page = PageSpec(30, 20, 72, "X", lambda: raster, color=True, cmyk=True)
        write_postscript(out, [page], title="cmyk")
    (preview,) = read_pages(path)
    assert preview.shape == (20, 30, 3)
    assert tuple(preview[0, 0]) == (0, 0, 0) and tuple(preview[0, 15]) == (0, 255, 255)
    assert tuple(preview[0, 25]) == (255, 255, 255)


def test_mutated_profiles_are_refused_or_used_never_an_internal_error() -> None:
    """A profile is client data: 400 deterministic mutations of a real one either build a
    transform or raise ProfileError (0x0106 at N-SET), nothing else."""
    rng = np.random.default_rng(20261129)
    base = np.frombuffer(ADOBE_RGB.read_bytes(), np.uint8)
    refused = 0
    for _ in range(400):
        data = base.copy()
        span = 128 if rng.random() < 0.5 else len(data)  # the 128-byte header, or anywhere
        where = rng.integers(0, span, rng.integers(1, 20))
        data[where] = rng.integers(0, 256, len(where))
        cut = int(rng.integers(len(data) // 2, len(data) + 1))
        try:
            colour.check_source(data[:cut].tobytes(), colour.SRGB)
        except colour.ProfileError:
            refused += 1
    assert 0 < refused < 400
