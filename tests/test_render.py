"""The renderer: resampling, P-values, page geometry (pure numpy, no DICOM networking)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from printserver.model.layout import parse_display_format
from printserver.render import _resample
from printserver.render.compose import SheetRaster, render_sheet
from printserver.render.density import density_to_drive, to_drive
from printserver.render.geometry import Box, PageGeometry
from printserver.render.kernels import KERNELS, WEIGHT_BITS, taps
from printserver.render.lut import to_p_values
from printserver.render.resample import SIMD, UNIT, Scratch, plan, resample, resample_band
from printserver.render.sheet import (
    CharacteristicCurve,
    FilmSheet,
    PresentationLut,
    SheetAnnotation,
    SheetImage,
    ToneScale,
)


@pytest.mark.parametrize("kernel", ["REPLICATE", "BILINEAR", "CUBIC"])
@pytest.mark.parametrize("shape", [(50, 40), (260, 200), (33, 97)])
def test_resampler_keeps_a_flat_image_flat(kernel: str, shape: tuple[int, int]) -> None:
    flat = np.full((100, 80), 1234, dtype=np.uint16)
    out = resample(flat, *shape, kernel)
    assert out.shape == shape
    assert (out == 1234).all()  # weights sum to exactly one: not a trace of the kernel


def test_taps_are_normalised_and_widen_when_shrinking() -> None:
    index, weights = taps(2048, 512, "CUBIC")
    assert (weights.sum(axis=1) == 2**WEIGHT_BITS).all()
    assert (weights == np.rint(weights)).all()  # integers of 2**-WEIGHT_BITS
    assert index.shape[1] >= 16  # support 2 widened by the factor 4
    grow_index, _ = taps(512, 2048, "CUBIC")
    assert grow_index.shape[1] == 4


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize(("n_in", "n_out"), [(2048, 512), (512, 2650), (7, 5), (300, 41)])
def test_fixed_point_weights_are_the_kernel_to_a_weight_step(
    kernel: str, n_in: int, n_out: int
) -> None:
    """Each weight is its kernel value rounded to 2**-WEIGHT_BITS (one step more where a row's
    rounding residue is put), computed here from the kernel function, not by the resampler."""
    function, support = KERNELS[kernel]
    index, weights = taps(n_in, n_out, kernel)
    scale = n_in / n_out
    widen = max(1.0, scale) if kernel != "REPLICATE" else 1.0
    centres = (np.arange(n_out) + 0.5) * scale - 0.5
    first = np.floor(centres - support * widen).astype(np.intp) + 1
    unclipped = first[:, None] + np.arange(index.shape[1])
    ideal = function((unclipped - centres[:, None]) / widen)
    if kernel == "REPLICATE":
        ideal = (unclipped == np.rint(centres + 1e-9)[:, None]).astype(np.float64)
    ideal /= ideal.sum(axis=1, keepdims=True)
    steps = np.abs(weights / 2**WEIGHT_BITS - ideal) * 2**WEIGHT_BITS
    assert steps.max() <= 0.5 + index.shape[1] / 2  # the residue goes to one tap a row
    others = np.sort(steps, axis=1)[:, :-1]
    assert others.size == 0 or others.max() <= 0.5 + 1e-6  # every other tap: rounded


def test_twelve_bit_ramp_keeps_thousands_of_levels() -> None:
    ramp = np.tile(np.arange(4096, dtype=np.uint16), (4, 1))
    out = to_drive(resample(ramp, 4, 6000, "CUBIC"))
    assert len(np.unique(out)) > 4000  # an 8-bit step anywhere would leave at most 256


def test_monochrome1_inverts_and_8_bit_scales_to_12() -> None:
    pixels = np.array([[0, 255]], dtype=np.uint16)
    assert to_p_values(SheetImage(pixels=pixels, bits_stored=8)).tolist() == [[0.0, 4095.0]]
    assert to_p_values(SheetImage(pixels=pixels, bits_stored=8, invert=True)).tolist() == [
        [4095.0, 0.0]
    ]


def test_density_terms() -> None:
    ideal = CharacteristicCurve.ideal(0.20, 3.20)
    assert density_to_drive("BLACK", ideal) == 0
    assert density_to_drive("WHITE", ideal) == 4095
    assert density_to_drive("170", ideal) == 2048  # halfway in density: halfway in drive
    assert density_to_drive("900", ideal) == 0  # clamped to what the printer reaches


def _sheet(
    images: dict[int, SheetImage],
    width_mm: float = 203.2,
    height_mm: float = 254.0,
    dpi: int = 50,
    band_mm: float = 0.0,
    **kwargs: object,
) -> FilmSheet:
    page = PageGeometry(width_mm, height_mm, dpi, 4.0, 3.0, "bottom" if band_mm else None, band_mm)
    defaults: dict[str, object] = {
        "page": page,
        "boxes": parse_display_format("STANDARD\\2,2"),
        "images": images,
        "border": 0,
        "empty": 4095,
    }
    defaults.update(kwargs)
    return FilmSheet(**defaults)  # type: ignore[arg-type]


def test_each_flat_image_fills_exactly_its_own_cell() -> None:
    levels = [500, 1500, 2500, 3500]
    images = {
        i + 1: SheetImage(pixels=np.full((300, 240), level, np.uint16), bits_stored=12)
        for i, level in enumerate(levels)
    }
    sheet = _sheet(images)
    page = render_sheet(sheet)
    assert page.shape == (500, 400)
    px = 50 / 25.4
    for position, level in enumerate(levels, start=1):
        x0, y0, x1, y1 = sheet.page.cell_rect(sheet.boxes[position - 1])
        column, row = (position - 1) % 2, (position - 1) // 2
        # expected cell from the documented geometry alone
        left = 4 * px + column * (400 - 8 * px) / 2 + 1.5 * px
        top = 4 * px + row * (500 - 8 * px) / 2 + 1.5 * px
        assert abs(x0 - left) <= 1 and abs(y0 - top) <= 1
        cell = page[y0:y1, x0:x1]
        assert (cell == level).mean() > 0.95  # 300x240 fills a 195x241 cell except aspect bands
    assert page[:5].max() == 0 and page[:, :5].max() == 0  # BLACK border


def test_aspect_ratio_leaves_bands_of_the_expected_size() -> None:
    wide = SheetImage(pixels=np.full((100, 200), 4095, np.uint16), bits_stored=12)
    sheet = _sheet(
        {1: wide}, boxes=parse_display_format("STANDARD\\1,1"), width_mm=254.0, height_mm=254.0
    )
    page = render_sheet(sheet)
    x0, y0, x1, y1 = sheet.page.cell_rect(sheet.boxes[0])
    cell = page[y0:y1, x0:x1]
    lit_rows = np.flatnonzero(cell.max(axis=1) == 4095)
    expected = round((x1 - x0) / 2)
    assert abs(len(lit_rows) - expected) <= 1
    assert abs(lit_rows[0] - ((y1 - y0) - expected) // 2) <= 1


def test_empty_boxes_and_landscape() -> None:
    sheet = _sheet({}, width_mm=254.0, height_mm=203.2)
    page = render_sheet(sheet)
    assert page.shape == (400, 500)
    x0, y0, x1, y1 = sheet.page.cell_rect(sheet.boxes[3])
    assert (page[y0:y1, x0:x1] == 4095).all()


def _busy_sheet(color: bool) -> FilmSheet:
    """Every kind of box: kernels, a LUT, crop, pixel for pixel, empty, trim and annotation."""
    rng = np.random.default_rng(3)
    tone = ToneScale(0.20, 3.20, 2000.0, 10.0, CharacteristicCurve.ideal(0.20, 3.20))
    annotation = SheetAnnotation(
        text_mm=3.5,
        boxes=(Box(0.0, 0.0, 0.5, 1.0), Box(0.5, 0.0, 0.5, 1.0)),
        aligns=("left", "right"),
        texts=("HELLO 123", "world"),
    )
    if color:
        rgb = rng.integers(0, 256, (190, 170, 3), dtype=np.uint8)
        images = {
            1: SheetImage(rgb, 8),
            2: SheetImage(rgb, 8, invert=True, magnification="REPLICATE"),
            3: SheetImage(rgb[:50, :70], 8, magnification="NONE"),
            5: SheetImage(rgb, 8, magnification="BILINEAR"),
        }
    else:
        noisy = rng.integers(0, 4096, (211, 173)).astype(np.uint16)
        lut = PresentationLut(table=np.linspace(0, 65535, 300).astype(np.uint16), table_bits=16)
        images = {
            1: SheetImage(noisy, 12, tone=tone),
            2: SheetImage(noisy, 12, invert=True, tone=tone, magnification="BILINEAR"),
            3: SheetImage(noisy, 12, tone=tone, presentation_lut=lut, smoothing="SHARP"),
            4: SheetImage(noisy[:40, :30], 12, tone=tone, magnification="REPLICATE"),
            5: SheetImage(noisy, 12, tone=tone, requested_width_mm=60.0, decimate_crop="CROP"),
            6: SheetImage(noisy[:60, :50], 12, magnification="NONE"),
            7: SheetImage(np.tile(noisy, (6, 2)), 12, tone=tone, smoothing="SMOOTH"),
        }
    return _sheet(
        images,
        dpi=100,
        band_mm=10.0,
        boxes=parse_display_format("STANDARD\\3,3"),
        border=300,
        color=color,
        annotation=annotation,
        trim=True,
    )


@pytest.mark.parametrize("color", [False, True])
def test_any_band_is_exactly_those_rows_of_the_page(color: bool) -> None:
    """Bands drawn alone, in any order and size, on any thread, make up the page bit for bit."""
    sheet = _busy_sheet(color)
    page = render_sheet(sheet, workers=1)
    assert np.array_equal(render_sheet(sheet, workers=3), page)
    raster = SheetRaster(sheet)
    assert raster.shape == page.shape
    edges = [0, 1, 2, 39, 40, 41, 200, 333, 334, 700, page.shape[0] - 1, page.shape[0]]
    for top, bottom in reversed(list(itertools.pairwise(edges))):
        assert np.array_equal(raster.rows(top, bottom), page[top:bottom]), (top, bottom)
    assert len(np.unique(page)) > 200  # the images, not just border and empty boxes


def _exact_sums(image: np.ndarray, shape: tuple[int, int], kernel: str) -> np.ndarray:
    """The taps' weighted sums in integers (Python's, through int64 and object arrays)."""
    rows_index, rows_weights = taps(image.shape[0], shape[0], kernel)
    cols_index, cols_weights = taps(image.shape[1], shape[1], kernel)
    a, b = rows_weights.astype(np.int64), cols_weights.astype(np.int64)
    wide = np.einsum("ok,okwc->owc", a, image.astype(np.int64)[rows_index])  # below 2**35
    return np.einsum("pk,opkc->opc", b.astype(object), wide[:, cols_index].astype(object))


@pytest.mark.parametrize("simd", sorted({False, SIMD}), ids=lambda simd: f"simd={simd}")
@pytest.mark.parametrize("kernel", ["REPLICATE", "BILINEAR", "CUBIC", "CUBIC SMOOTH"])
@pytest.mark.parametrize(
    ("source", "shape"),
    [
        ((50, 40), (131, 97)),
        ((300, 260), (41, 77)),
        ((400, 600), (40, 7)),
        ((7, 500), (13, 9)),
        ((1, 1), (5, 3)),
    ],
)
def test_resampler_computes_the_weighted_sums_of_its_taps_exactly(
    kernel: str, source: tuple[int, int], shape: tuple[int, int], simd: bool
) -> None:
    """The compiled loops, vector (AVX2) or portable, give the taps' sums to the last unit,
    for colour and gray, 16 and 8-bit samples."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 4096, (*source, 3)).astype(np.uint16)
    expected = _exact_sums(image, shape, kernel)
    out = resample(image, *shape, kernel, simd)
    assert out.shape == (*shape, 3)
    assert (out / UNIT == expected.astype(np.float64)).all()
    assert (resample(image[:, :, 1], *shape, kernel, simd) / UNIT == expected[:, :, 1]).all()
    levels = (image >> 4).astype(np.uint8)
    expected = _exact_sums(levels, shape, kernel)
    assert (resample(levels, *shape, kernel, simd) / UNIT == expected.astype(np.float64)).all()
    if kernel == "REPLICATE":
        rows_index, _ = taps(source[0], shape[0], kernel)
        cols_index, _ = taps(source[1], shape[1], kernel)
        assert np.array_equal(out, image[rows_index[:, 0]][:, cols_index[:, 0]])


@pytest.mark.parametrize("kernel", ["CUBIC SHARP", "CUBIC"])
def test_sixteen_bit_extremes_stay_exact(kernel: str) -> None:
    """The largest sums there can be: 16-bit samples alternating between 0 and 65535 under
    the kernel with the most negative lobe, enlarged and strongly reduced."""
    checker = (np.indices((64, 48)).sum(axis=0) % 2 * 65535).astype(np.uint16)
    for shape in ((150, 101), (5, 3)):
        expected = _exact_sums(checker[:, :, None], shape, kernel)[:, :, 0]
        assert (resample(checker, *shape, kernel) / UNIT == expected.astype(np.float64)).all()
        assert max(abs(int(v)) for v in expected.ravel()) < 2**52


def test_a_bias_is_added_exactly_and_must_keep_the_sums_whole() -> None:
    """The half a caller adds for rounding, folded into the vertical pass, is that half."""
    rng = np.random.default_rng(8)
    image = rng.integers(0, 4096, (90, 70)).astype(np.uint16)
    taps_plan = plan(90, 70, 131, 57, "CUBIC SHARP").scaled(16 * UNIT)
    plain = resample_band(image, 0, taps_plan, 0, 131, Scratch()).copy()
    biased = resample_band(image, 0, taps_plan, 0, 131, Scratch(), bias=0.5)
    assert np.array_equal(biased, plain + 0.5)
    with pytest.raises(ValueError, match="whole number"):
        resample_band(image, 0, plan(90, 70, 131, 57), 0, 131, Scratch(), bias=0.5)


def test_the_compiled_loops_refuse_a_window_or_buffer_outside_its_bounds() -> None:
    """What the Python side hands the loops is checked again in C: no call reads or writes
    outside an array, whatever its arguments."""
    source = np.zeros((10, 8), np.uint16)
    starts, weights = np.zeros(4, np.int64), np.ones((4, 2))
    scratch = np.zeros(4096)

    def call(**changed: object) -> None:
        arguments: dict[str, object] = {
            "source": source, "itemsize": 2, "rows": 10, "width": 8, "channels": 1,
            "rows_start": starts, "rows_weights": weights, "rows_taps": 2,
            "cols_start": starts, "cols_weights": weights, "cols_taps": 2, "out_w": 4,
            "factor": 1.0, "bias": 0.0, "v": scratch, "vt": scratch, "out": np.zeros(16),
            "simd": False,
        }  # fmt: skip
        arguments.update(changed)
        _resample.band_sums(*arguments.values())

    call()  # the arguments above are sound
    with pytest.raises(ValueError, match="rows_start reaches outside"):
        call(rows_start=np.array([0, 0, 0, 9], np.int64))
    with pytest.raises(ValueError, match="cols_start reaches outside"):
        call(cols_start=np.array([-1, 0, 0, 0], np.int64))
    with pytest.raises(ValueError, match="source holds"):
        call(rows=11)
    with pytest.raises(ValueError, match="out holds"):
        call(out=np.zeros(15))
    with pytest.raises(ValueError, match="out of range"):
        call(itemsize=4)
    with pytest.raises(ValueError, match="out of range"):
        call(width=2**62, rows=2**62)  # whose product would overflow


def test_resampler_takes_only_integer_samples() -> None:
    with pytest.raises(TypeError, match="8 or 16-bit unsigned"):
        resample(np.zeros((4, 4), np.float32), 8, 8)


def test_p_values_of_some_rows_are_those_rows_of_the_image() -> None:
    rng = np.random.default_rng(9)
    pixels = rng.integers(0, 1024, (40, 30)).astype(np.uint16)
    for lut in (
        None,
        PresentationLut(table=np.linspace(0, 4095, 700).astype(np.uint16), table_bits=12),
        PresentationLut(shape="INVERSE"),
    ):
        image = SheetImage(pixels, 10, invert=True, presentation_lut=lut)
        assert np.array_equal(to_p_values(image, slice(7, 19)), to_p_values(image)[7:19])
