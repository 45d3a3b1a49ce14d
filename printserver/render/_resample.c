/* The resampler's inner loops (render/resample.py): exact weighted sums of integer samples.
 *
 * Every product and partial sum is an integer below 2**53 held in a double, so the result
 * is the exact sum whatever the order of summation, the vector width or the use of FMA:
 * the AVX2 and the portable builds of the same loops give the same bits, as do any band
 * split and thread count.  Python checks the weights' bound (render/kernels.py); this
 * module checks every index against its buffer, so no argument can read or write outside
 * one.  The GIL is released while the loops run.
 *
 * One band of output rows:
 *   1. vertical:   v[r][k] = bias + sum_t rows_weights[r][t] * source[rows_start[r] + t][k]
 *   2. transpose:  vt[ch][x][r] = v[r][x * channels + ch]
 *   3. horizontal: out[r][ch][j] = factor * sum_t cols_weights[j][t] * vt[ch][cols_start[j] + t][r]
 * Step 3 runs along r, contiguous in vt, so both passes are plain vector loops.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define PAD 8      /* doubles added to a row of v: a stride of 4 KiB would thrash the cache */
#define TILE 16    /* side of a transposed tile */
#define OUTPUTS 8  /* output columns summed before they are written along their rows */
#define SIDE (1 << 24)  /* most rows or columns of any array */
#define TAPS (1 << 16)  /* most taps of one output */

typedef struct {
    const void *source;
    Py_ssize_t itemsize, line, channels, width, count, out_w;
    const int64_t *rows_start, *cols_start;
    const double *rows_weights, *cols_weights;
    Py_ssize_t rows_taps, cols_taps;
    double factor, bias;
    double *v, *vt, *out;
} Band;

#define VERTICAL(NAME, T, ATTR)                                                              \
    ATTR static void NAME(const Band *b) {                                                   \
        const T *source = (const T *)b->source;                                              \
        const Py_ssize_t line = b->line, stride = line + PAD;                                \
        for (Py_ssize_t r = 0; r < b->count; r++) {                                          \
            double *o = b->v + r * stride;                                                   \
            const double *w = b->rows_weights + r * b->rows_taps;                           \
            const T *s = source + b->rows_start[r] * line;                                   \
            const double w0 = w[0], bias = b->bias;                                          \
            for (Py_ssize_t k = 0; k < line; k++) o[k] = bias + w0 * (double)s[k];           \
            for (Py_ssize_t t = 1; t < b->rows_taps; t++) {                                  \
                const T *st = s + t * line;                                                  \
                const double wt = w[t];                                                      \
                for (Py_ssize_t k = 0; k < line; k++) o[k] += wt * (double)st[k];            \
            }                                                                                \
        }                                                                                    \
    }

#define TRANSPOSE(NAME, ATTR)                                                                \
    ATTR static void NAME(const Band *b) {                                                   \
        const Py_ssize_t stride = b->line + PAD, count = b->count;                           \
        for (Py_ssize_t r0 = 0; r0 < count; r0 += TILE)                                      \
            for (Py_ssize_t x0 = 0; x0 < b->width; x0 += TILE)                               \
                for (Py_ssize_t ch = 0; ch < b->channels; ch++)                              \
                    for (Py_ssize_t x = x0; x < x0 + TILE && x < b->width; x++) {            \
                        double *o = b->vt + (ch * b->width + x) * count;                     \
                        const double *s = b->v + x * b->channels + ch;                       \
                        for (Py_ssize_t r = r0; r < r0 + TILE && r < count; r++)             \
                            o[r] = s[r * stride];                                            \
                    }                                                                        \
    }

/* v is free once transposed: it holds the sums of OUTPUTS columns at a time */
#define HORIZONTAL(NAME, ATTR)                                                               \
    ATTR static void NAME(const Band *b) {                                                   \
        const Py_ssize_t count = b->count, out_w = b->out_w, taps = b->cols_taps;            \
        double *sums = b->v;                                                                 \
        for (Py_ssize_t ch = 0; ch < b->channels; ch++)                                      \
            for (Py_ssize_t j0 = 0; j0 < out_w; j0 += OUTPUTS) {                             \
                const Py_ssize_t n = out_w - j0 < OUTPUTS ? out_w - j0 : OUTPUTS;            \
                for (Py_ssize_t i = 0; i < n; i++) {                                         \
                    const double *w = b->cols_weights + (j0 + i) * taps;                     \
                    const double *s = b->vt + (ch * b->width + b->cols_start[j0 + i]) * count; \
                    double *a = sums + i * count;                                            \
                    const double w0 = w[0];                                                  \
                    for (Py_ssize_t r = 0; r < count; r++) a[r] = w0 * s[r];                 \
                    for (Py_ssize_t t = 1; t < taps; t++) {                                  \
                        const double *st = s + t * count;                                    \
                        const double wt = w[t];                                              \
                        for (Py_ssize_t r = 0; r < count; r++) a[r] += wt * st[r];           \
                    }                                                                        \
                }                                                                            \
                for (Py_ssize_t r = 0; r < count; r++) {                                     \
                    double *o = b->out + (r * b->channels + ch) * out_w + j0;                \
                    for (Py_ssize_t i = 0; i < n; i++) o[i] = b->factor * sums[i * count + r]; \
                }                                                                            \
            }                                                                                \
    }

#define SIMD __attribute__((target("avx2")))
VERTICAL(vertical16, uint16_t, )
VERTICAL(vertical8, uint8_t, )
TRANSPOSE(transpose, )
HORIZONTAL(horizontal, )
VERTICAL(vertical16_simd, uint16_t, SIMD)
VERTICAL(vertical8_simd, uint8_t, SIMD)
TRANSPOSE(transpose_simd, SIMD)
HORIZONTAL(horizontal_simd, SIMD)

static void run(const Band *b, int simd) {
    if (simd) {
        (b->itemsize == 1 ? vertical8_simd : vertical16_simd)(b);
        transpose_simd(b);
        horizontal_simd(b);
    } else {
        (b->itemsize == 1 ? vertical8 : vertical16)(b);
        transpose(b);
        horizontal(b);
    }
}

static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static int too_small(const Py_buffer *buffer, Py_ssize_t items, Py_ssize_t itemsize,
                     const char *name) {
    if (items < 0 || buffer->len / itemsize < items) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, fewer than the band needs", name,
                     buffer->len);
        return 1;
    }
    return 0;
}

static int outside(const int64_t *start, Py_ssize_t n, Py_ssize_t taps, Py_ssize_t limit,
                   const char *name) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (start[i] < 0 || start[i] > limit - taps) {
            PyErr_Format(PyExc_ValueError, "%s reaches outside its input", name);
            return 1;
        }
    return 0;
}

static PyObject *band_sums(PyObject *self, PyObject *args) {
    Py_buffer source, rows_start, rows_weights, cols_start, cols_weights, v, vt, out;
    Py_ssize_t itemsize, rows, width, channels, count, out_w, rows_taps, cols_taps;
    double factor, bias;
    int simd;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nnnny*y*ny*y*nnddw*w*w*p", &source, &itemsize, &rows, &width,
                          &channels, &rows_start, &rows_weights, &rows_taps, &cols_start,
                          &cols_weights, &cols_taps, &out_w, &factor, &bias, &v, &vt, &out,
                          &simd))
        return NULL;
    Py_buffer *held[] = {&source, &rows_start, &rows_weights, &cols_start, &cols_weights, &v,
                         &vt, &out};
    PyObject *result = NULL;
    Py_ssize_t line = width * channels;
    count = rows_start.len / (Py_ssize_t)sizeof(int64_t);
    /* each size below 2**24 (taps and channels far less): no product of two overflows */
    if ((itemsize != 1 && itemsize != 2) || rows < 1 || rows > SIDE || width < 1 ||
        width > SIDE || channels < 1 || channels > 4 || rows_taps < 1 || rows_taps > TAPS ||
        cols_taps < 1 || cols_taps > TAPS || out_w < 1 || out_w > SIDE || count < 1 ||
        count > SIDE) {
        PyErr_SetString(PyExc_ValueError, "band_sums: a size is out of range");
        goto done;
    }
    if (too_small(&source, rows * line, itemsize, "source") ||
        too_small(&rows_weights, count * rows_taps, sizeof(double), "rows_weights") ||
        too_small(&cols_start, out_w, sizeof(int64_t), "cols_start") ||
        too_small(&cols_weights, out_w * cols_taps, sizeof(double), "cols_weights") ||
        too_small(&v, count * (line + PAD), sizeof(double), "v") ||
        too_small(&v, OUTPUTS * count, sizeof(double), "v") ||
        too_small(&vt, line * count, sizeof(double), "vt") ||
        too_small(&out, count * channels * out_w, sizeof(double), "out") ||
        outside(rows_start.buf, count, rows_taps, rows, "rows_start") ||
        outside(cols_start.buf, out_w, cols_taps, width, "cols_start"))
        goto done;
    if (simd && !cpu_has_avx2()) {
        PyErr_SetString(PyExc_ValueError, "band_sums: this CPU has no AVX2");
        goto done;
    }
    {
        Band band = {source.buf, itemsize, line, channels, width, count, out_w,
                     rows_start.buf, cols_start.buf, rows_weights.buf, cols_weights.buf,
                     rows_taps, cols_taps, factor, bias, v.buf, vt.buf, out.buf};
        Py_BEGIN_ALLOW_THREADS
        run(&band, simd);
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    for (size_t i = 0; i < sizeof held / sizeof held[0]; i++) PyBuffer_Release(held[i]);
    return result;
}

static PyObject *simd_available(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyBool_FromLong(cpu_has_avx2());
}

static PyMethodDef methods[] = {
    {"band_sums", band_sums, METH_VARARGS,
     "Exact sums of one band of a separable resampling (see render/resample.py)."},
    {"simd_available", simd_available, METH_NOARGS, "Whether this CPU runs the AVX2 loops."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_resample",
    .m_size = -1,
    .m_methods = methods,
};

/* PAD and OUTPUTS size the scratch buffers the caller hands in: exported, not written twice */
PyMODINIT_FUNC PyInit__resample(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && (PyModule_AddIntConstant(m, "PAD", PAD) < 0 ||
                      PyModule_AddIntConstant(m, "OUTPUTS", OUTPUTS) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
