/* The fast path of the access-log parser in C: the same rules as clf_layout.pattern(), ~5x faster.
 *
 * scan(data, offsets, ok, index, ts, offset_min, status, size, host_offsets, host_data) -> (m, host_bytes)
 * line_ends(data) -> bytes (the offsets of the line breaks, int64)
 *
 * Line i of the buffer `data` is data[offsets[i]:offsets[i + 1]] (with its line break). A line is
 * accepted (ok[i] = 1) when it has exactly the layout of clf_layout.pattern() AND its time stamp is
 * valid AND its status is 100-599, i.e. exactly when the Polars fast path accepts it; every other
 * line is left to the careful line-by-line parser. For the m accepted lines, in order, the function
 * writes the line's position in the chunk (index), UTC epoch seconds (ts), the logged offset in
 * minutes (offset_min), the status, the size (-1 for "-") and the host, as Arrow-style offsets
 * (m + 1 of them) into host_data. All output buffers are preallocated by the caller (host_data
 * as large as data). The GIL is released while scanning, so chunks parse in parallel threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* Character classes of clf_layout, as bits of a table: ASCII only; host has no space, quote or '[';
   ident and user neither, nor \t \n \v \f \r; quoted fields have no quote. */
enum { HOST = 1, IDENT = 2, QUOTED = 4 };
static unsigned char CLASS[256];

static void init_classes(void) {
    for (int c = 0; c < 0x80; c++) {
        int host = c != ' ' && c != '"' && c != '[';
        CLASS[c] = (unsigned char)((host ? HOST : 0) | (host && (c < 0x09 || c > 0x0d) ? IDENT : 0)
                                   | (c != '"' ? QUOTED : 0));
    }
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

static int digits(const unsigned char *s, int n, int64_t *value) {
    int64_t v = 0;
    for (int k = 0; k < n; k++) {
        if (!is_digit(s[k])) return 0;
        v = v * 10 + (s[k] - '0');
    }
    *value = v;
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    const int64_t era = y / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int64_t m) {
    static const int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return DAYS[m - 1] + (m == 2 && leap);
}

/* A run of at least one byte of class `bit` ended by a space; returns the position after the space or -1. */
static Py_ssize_t word(const unsigned char *s, Py_ssize_t p, Py_ssize_t n, unsigned char bit) {
    Py_ssize_t start = p;
    while (p < n && (CLASS[s[p]] & bit)) p++;
    return (p == start || p >= n || s[p] != ' ') ? -1 : p + 1;
}

/* A quoted field starting at s[p] == '"'; returns the position after the closing quote or -1. */
static Py_ssize_t quoted(const unsigned char *s, Py_ssize_t p, Py_ssize_t n) {
    if (p >= n || s[p] != '"') return -1;
    for (p++; p < n && (CLASS[s[p]] & QUOTED); p++) {}
    return (p < n && s[p] == '"') ? p + 1 : -1;
}

typedef struct {
    Py_ssize_t host_end;
    int64_t ts, size;
    int16_t offset_min, status;
} Fields;

/* The time stamp "dd/Mon/yyyy:HH:MM:SS +hhmm" at s (26 bytes); 0 when not a valid one. */
static int stamp(const unsigned char *s, Fields *f) {
    int64_t day, year, hh, mm, ss, oh, om;
    if (!digits(s, 2, &day) || s[2] != '/' || !is_alpha(s[3]) || !is_alpha(s[4]) || !is_alpha(s[5])
        || s[6] != '/' || !digits(s + 7, 4, &year) || s[11] != ':' || !digits(s + 12, 2, &hh)
        || s[14] != ':' || !digits(s + 15, 2, &mm) || s[17] != ':' || !digits(s + 18, 2, &ss)
        || s[20] != ' ' || (s[21] != '+' && s[21] != '-') || !digits(s + 22, 2, &oh) || !digits(s + 24, 2, &om))
        return 0;
    int month = 0;
    for (int k = 0; k < 12; k++)
        if (s[3] == MONTHS[3 * k] && s[4] == MONTHS[3 * k + 1] && s[5] == MONTHS[3 * k + 2]) month = k + 1;
    int64_t offset = oh * 60 + om;
    if (!month || year < 1970 || day < 1 || day > days_in_month(year, month) || hh > 23 || mm > 59
        || ss > 60 || offset > 18 * 60)
        return 0;
    if (s[21] == '-') offset = -offset;
    f->ts = days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss - offset * 60;
    f->offset_min = (int16_t)offset;
    return 1;
}

/* HOST SP IDENT SP USER SP [stamp] SP "REQUEST" SP sss SP SIZE [SP "REF" SP "UA"] [\r] [\n] */
static int scan_line(const unsigned char *s, Py_ssize_t n, Fields *f) {
    Py_ssize_t p = word(s, 0, n, HOST);
    if (p < 0) return 0;
    f->host_end = p - 1;
    if ((p = word(s, p, n, IDENT)) < 0 || (p = word(s, p, n, IDENT)) < 0) return 0;
    if (n - p < 30 || s[p] != '[' || s[p + 27] != ']' || s[p + 28] != ' ' || !stamp(s + p + 1, f)) return 0;
    if ((p = quoted(s, p + 29, n)) < 0) return 0;
    int64_t status;
    if (n - p < 6 || s[p] != ' ' || !digits(s + p + 1, 3, &status) || s[p + 4] != ' ') return 0;
    if (status < 100 || status > 599) return 0;
    f->status = (int16_t)status;
    p += 5;
    if (s[p] == '-') {
        f->size = -1;
        p++;
    } else {
        Py_ssize_t start = p;
        int64_t size = 0;
        while (p < n && is_digit(s[p]) && p - start < 14) size = size * 10 + (s[p++] - '0');
        if (p == start || p - start > 13) return 0;
        f->size = size;
    }
    if (p < n && s[p] == ' ') {  /* referrer and user agent */
        if ((p = quoted(s, p + 1, n)) < 0 || p >= n || s[p] != ' ' || (p = quoted(s, p + 1, n)) < 0) return 0;
    }
    if (p < n && s[p] == '\r') p++;
    if (p < n && s[p] == '\n') p++;
    return p == n;
}

static int writable(Py_buffer *b, Py_ssize_t itemsize, Py_ssize_t count, const char *name) {
    if (b->readonly || b->len < itemsize * count) {
        PyErr_Format(PyExc_ValueError, "%s: a writable buffer of %zd bytes is needed", name, itemsize * count);
        return 0;
    }
    return 1;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    Py_buffer data, offsets, ok, index, ts, offset_min, status, size, host_offsets, host_data;
    if (!PyArg_ParseTuple(args, "y*y*w*w*w*w*w*w*w*w*", &data, &offsets, &ok, &index, &ts, &offset_min,
                          &status, &size, &host_offsets, &host_data))
        return NULL;
    Py_buffer *all[] = {&data, &offsets, &ok, &index, &ts, &offset_min, &status, &size, &host_offsets, &host_data};
    PyObject *result = NULL;
    Py_ssize_t n = offsets.len / 8 - 1, m = 0, used = 0;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "offsets: at least one entry is needed");
        goto done;
    }
    if (!writable(&ok, 1, n, "ok") || !writable(&index, 8, n, "index") || !writable(&ts, 8, n, "ts")
        || !writable(&offset_min, 2, n, "offset_min") || !writable(&status, 2, n, "status")
        || !writable(&size, 8, n, "size") || !writable(&host_offsets, 8, n + 1, "host_offsets")
        || !writable(&host_data, 1, data.len, "host_data"))
        goto done;
    const unsigned char *text = data.buf;
    const int64_t *off = offsets.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (off[i] < 0 || off[i] > off[i + 1] || off[i + 1] > data.len) {
            PyErr_SetString(PyExc_ValueError, "offsets must rise within the data");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    unsigned char *okp = ok.buf, *hosts = host_data.buf;
    int64_t *idx = index.buf, *tsp = ts.buf, *sizep = size.buf, *hoff = host_offsets.buf;
    int16_t *offp = offset_min.buf, *statusp = status.buf;
    hoff[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Fields f;
        const unsigned char *line = text + off[i];
        okp[i] = (unsigned char)scan_line(line, off[i + 1] - off[i], &f);
        if (!okp[i]) continue;
        idx[m] = i;
        tsp[m] = f.ts;
        offp[m] = f.offset_min;
        statusp[m] = f.status;
        sizep[m] = f.size;
        memcpy(hosts + used, line, f.host_end);
        used += f.host_end;
        hoff[++m] = used;
    }
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("nn", m, used);
done:
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) PyBuffer_Release(all[k]);
    return result;
}

/* line_ends(data) -> bytes: the offsets of the '\n' bytes of data, as native int64 (memchr: ~10x
   faster than numpy's flatnonzero(data == 10)). */
static PyObject *line_ends(PyObject *self, PyObject *args) {
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    const char *text = data.buf, *end = text + data.len, *p;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    for (p = text; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) count++;
    Py_END_ALLOW_THREADS
    PyObject *out = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(int64_t));
    if (out != NULL) {
        int64_t *ends = (int64_t *)PyBytes_AS_STRING(out);
        Py_BEGIN_ALLOW_THREADS
        for (p = text; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) *ends++ = p - text;
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&data);
    return out;
}

static PyMethodDef METHODS[] = {
    {"line_ends", line_ends, METH_VARARGS, "Offsets of the line breaks of a buffer (int64 bytes)."},
    {"scan", scan, METH_VARARGS, "Scan access-log lines with the fast path's rules (see the module source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_clf", "Fast path of the access-log parser.", -1, METHODS};

PyMODINIT_FUNC PyInit__clf(void) {
    init_classes();
    return PyModule_Create(&MODULE);
}
