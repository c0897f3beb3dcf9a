/* _nodes.c's kernels: the operations whose Python row is one IEEE expression or one libm call.
 * Part of _nodes.c, which includes it once (one unit, so its statics stay static). */
enum { K_NONE = -1, K_ADD, K_SUB, K_MUL, K_DIV, K_NEG, K_EXP, K_LOG, K_SQRT, K_SIN, K_COS, K_TAN, K_TANH, K_ATAN,
       K_SIGMOID, K_RELU, N_KERNELS };
static const char *kernel_names[N_KERNELS] = {"+", "-", "*", "/", "neg", "exp", "log", "sqrt", "sin", "cos", "tan",
                                              "tanh", "atan", "sigmoid", "relu"};

/* --- kernels: 1 and *out when the Python row gives that finite number without raising; 0: ask Python ---- */

static int forward_kernel(int k, double x, double y, double *out) {
    double r, z;
    switch (k) {
    case K_ADD: r = x + y; break;
    case K_SUB: r = x - y; break;
    case K_MUL: r = x * y; break;
    case K_DIV: if (y == 0.0) return 0; r = x / y; break;
    case K_NEG: r = -x; break;
    case K_EXP: r = exp(x); break;
    case K_LOG: if (!(x > 0.0) || !isfinite(x)) return 0; r = log(x); break;
    case K_SQRT: if (!(x >= 0.0)) return 0; r = sqrt(x); break;
    case K_SIN: if (!isfinite(x)) return 0; r = sin(x); break;
    case K_COS: if (!isfinite(x)) return 0; r = cos(x); break;
    case K_TAN: if (!isfinite(x)) return 0; r = tan(x); break;
    case K_TANH: r = tanh(x); break;
    case K_ATAN: r = atan(x); break;
    case K_SIGMOID:
        if (x >= 0.0) r = 1.0 / (1.0 + exp(-x));
        else { z = exp(x); r = z / (1.0 + z); }
        break;
    case K_RELU: r = x <= 0.0 ? 0.0 : x; break;
    default: return 0;
    }
    if (!isfinite(r)) return 0;
    *out = r;
    return 1;
}

static int derivative_kernel(int k, double x, double y, double out, double *da, double *db) {
    double z;
    switch (k) {
    case K_ADD: *da = 1.0; *db = 1.0; return 1;
    case K_SUB: *da = 1.0; *db = -1.0; return 1;
    case K_MUL: *da = y; *db = x; return 1;
    case K_DIV: if (y == 0.0) return 0; *da = 1.0 / y; *db = -out / y; return 1;
    case K_NEG: *da = -1.0; return 1;
    case K_EXP: *da = out; return 1;
    case K_LOG: if (x == 0.0) return 0; *da = 1.0 / x; return 1;
    case K_SQRT: *da = out > 0.0 ? 0.5 / out : INFINITY; return 1;
    case K_SIN: if (!isfinite(x)) return 0; *da = cos(x); return 1;
    case K_COS: if (!isfinite(x)) return 0; *da = -sin(x); return 1;
    case K_TAN: *da = 1.0 + out * out; return 1;
    case K_TANH: z = exp(-2.0 * fabs(x)); *da = 4.0 * z / ((1.0 + z) * (1.0 + z)); return 1;
    case K_ATAN: *da = fabs(x) > 1e150 ? (1.0 / x) / x : 1.0 / (1.0 + x * x); return 1;
    case K_SIGMOID: z = exp(-fabs(x)); *da = z / ((1.0 + z) * (1.0 + z)); return 1;
    case K_RELU: *da = x > 0.0 ? 1.0 : (x <= 0.0 ? 0.0 : x); return 1;
    default: return 0;
    }
}

static int kernel_of(PyObject *name) {
    for (int k = 0; k < N_KERNELS; k++) {
        if (PyUnicode_CompareWithASCIIString(name, kernel_names[k]) == 0) return k;
    }
    return K_NONE;
}

/* kernel(name, x, y, out): (value, d/dx, d/dy) from the kernels, each None where they ask Python; for the
 * tests that hold each kernel to its row of ops.OPS, bit for bit. */
static PyObject *nodes_kernel(PyObject *mod, PyObject *args) {
    PyObject *name;
    double x, y, out, v, da = 0.0, db = 0.0;
    if (!PyArg_ParseTuple(args, "Uddd:kernel", &name, &x, &y, &out)) return NULL;
    int k = kernel_of(name);
    if (k == K_NONE) Py_RETURN_NONE;
    PyObject *value = forward_kernel(k, x, y, &v) ? PyFloat_FromDouble(v) : Py_NewRef(Py_None);
    int ok = derivative_kernel(k, x, y, out, &da, &db);
    PyObject *r = ok ? Py_BuildValue("(Ndd)", value, da, db) : Py_BuildValue("(NOO)", value, Py_None, Py_None);
    return r;
}
