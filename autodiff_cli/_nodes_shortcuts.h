/* The parser builder's three busiest callbacks, their common case in C.
 * Part of _nodes.c, which includes it once (one unit, so its statics stay static). */
/* --- the parser's three busiest callbacks ---------------------------------------------------------------
 *
 * Most of a parse is the builder's callbacks (parser._Builder): a node per operator, a leaf per number, a
 * lookup per name. shortcuts() makes C callables for the common case of three of them, each handing
 * anything else to the builder's own method, which stays the one definition (errors, NFKC names, the
 * first use of an input). The loop calls them as it calls any callback: nothing here knows the grammar.
 */

enum { SHORT_BINARY, SHORT_NUMBER, SHORT_NAME };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    int kind;
    PyObject *builder;  /* parser._BUILDER: its lists and dicts are read at each call (reset makes new ones) */
    PyObject *fallback; /* the builder's own method */
    PyObject *codes;    /* binary: an operator's text -> its row */
} Shortcut;

static PyObject *s_nodes, *s_positions, *s_constants, *s_env, *s_inputs, *s_append;

static int append_to(PyObject *owner, PyObject *name, PyObject *item) {
    PyObject *list = PyObject_GetAttr(owner, name);
    if (list == NULL) return -1;
    int r = PyList_CheckExact(list) ? PyList_Append(list, item) : -1;
    if (!PyList_CheckExact(list)) PyErr_SetString(PyExc_TypeError, "the builder's list is not a list");
    Py_DECREF(list);
    return r;
}

static int append_position(PyObject *builder, PyObject *tok) {
    PyObject *positions = PyObject_GetAttr(builder, s_positions);
    if (positions == NULL) return -1;
    PyObject *r = PyObject_CallMethodOneArg(positions, s_append, PyTuple_GET_ITEM(tok, 1));
    if (r != NULL) {
        Py_DECREF(r);
        r = PyObject_CallMethodOneArg(positions, s_append, PyTuple_GET_ITEM(tok, 2));
    }
    Py_DECREF(positions);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

static PyObject *Shortcut_vectorcall(Shortcut *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || value_cls == NULL) goto fallback;
    if (self->kind == SHORT_BINARY) {
        /* binary(left, tok, right): graph_node((left, right), op), its position kept */
        if (n != 3 || !IS_NODE(args[0]) || !IS_NODE(args[2]) || !PyTuple_Check(args[1]) || PyTuple_GET_SIZE(args[1]) != 3)
            goto fallback;
        PyObject *c = PyDict_GetItemWithError(self->codes, PyTuple_GET_ITEM(args[1], 0));
        if (c == NULL) {
            if (PyErr_Occurred()) return NULL;
            goto fallback;
        }
        int code = (int)PyLong_AsLong(c);
        if (code < 0 || code >= n_rows || rows[code].arity != 2) goto fallback;
        PyObject *v = (PyObject *)new_node(value_cls, 0.0, (Node *)args[0], (Node *)args[2], code);
        if (v == NULL) return NULL;
        if (append_to(self->builder, s_nodes, v) < 0 || append_position(self->builder, args[1]) < 0) {
            Py_DECREF(v);
            return NULL;
        }
        return v;
    }
    if (n != 1 || !PyTuple_Check(args[0]) || PyTuple_GET_SIZE(args[0]) != 3 || !PyUnicode_Check(PyTuple_GET_ITEM(args[0], 0)))
        goto fallback;
    PyObject *text = PyTuple_GET_ITEM(args[0], 0);
    if (self->kind == SHORT_NUMBER) {
        /* number(tok): a leaf, kept among the constants; an inf (or anything odd) is the method's to refuse */
        PyObject *x = PyFloat_FromString(text);
        if (x == NULL) {
            PyErr_Clear();
            goto fallback;
        }
        double d = PyFloat_AS_DOUBLE(x);
        Py_DECREF(x);
        if (!isfinite(d)) goto fallback;
        PyObject *v = (PyObject *)new_node(value_cls, d, NULL, NULL, -1);
        if (v == NULL) return NULL;
        if (append_to(self->builder, s_constants, v) < 0) {
            Py_DECREF(v);
            return NULL;
        }
        return v;
    }
    /* name(tok): an ASCII name already bound or already an input; its first use is the method's */
    if (!PyUnicode_IS_ASCII(text)) goto fallback;
    PyObject *where[2] = {s_env, s_inputs};
    for (int i = 0; i < 2; i++) {
        PyObject *d = PyObject_GetAttr(self->builder, where[i]);
        if (d == NULL) return NULL;
        PyObject *v = PyDict_CheckExact(d) ? PyDict_GetItemWithError(d, text) : NULL;
        Py_XINCREF(v);
        Py_DECREF(d);
        if (v != NULL) return v;
        if (PyErr_Occurred()) return NULL;
    }
fallback:
    return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
}

static void Shortcut_dealloc(Shortcut *self) {
    Py_XDECREF(self->builder);
    Py_XDECREF(self->fallback);
    Py_XDECREF(self->codes);
    PyObject_Free(self);
}

static PyTypeObject ShortcutType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "autodiff_cli._speedups.Shortcut",
    .tp_basicsize = sizeof(Shortcut),
    .tp_dealloc = (destructor)Shortcut_dealloc,
    .tp_vectorcall_offset = offsetof(Shortcut, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "a builder callback's common case in C, its method for the rest (see shortcuts)",
};

/* shortcuts(builder, binary, number, name, operators): C callables for those three methods of the builder;
 * operators maps an operator's text to its row's name in ops.OPS. */
static PyObject *nodes_shortcuts(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    if (!ready()) return NULL;
    if (nargs != 5 || !PyDict_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "shortcuts(builder, binary, number, name, operators: dict)");
        return NULL;
    }
    PyObject *by_text = PyDict_New();
    if (by_text == NULL) return NULL;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(args[4], &pos, &key, &value)) {
        PyObject *c = PyDict_GetItemWithError(codes, value);
        if (c == NULL || PyDict_SetItem(by_text, key, c) < 0) {
            if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "ops.OPS has no %R", value);
            Py_DECREF(by_text);
            return NULL;
        }
    }
    PyObject *out = PyTuple_New(3);
    if (out == NULL) {
        Py_DECREF(by_text);
        return NULL;
    }
    for (int kind = 0; kind < 3; kind++) {
        Shortcut *sc = PyObject_New(Shortcut, &ShortcutType);
        if (sc == NULL) {
            Py_DECREF(out);
            Py_DECREF(by_text);
            return NULL;
        }
        sc->vectorcall = (vectorcallfunc)Shortcut_vectorcall;
        sc->kind = kind;
        Py_INCREF(args[0]);
        sc->builder = args[0];
        Py_INCREF(args[1 + kind]);
        sc->fallback = args[1 + kind];
        Py_INCREF(by_text);
        sc->codes = by_text;
        PyTuple_SET_ITEM(out, kind, (PyObject *)sc);
    }
    Py_DECREF(by_text);
    return out;
}
