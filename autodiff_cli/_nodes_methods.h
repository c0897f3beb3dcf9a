/* Value's methods from ops.OPS (x.tanh(), x.min(y)) as C descriptors.
 * Part of _nodes.c, which includes it once (one unit, so its statics stay static). */
/* --- methods from the table: x.tanh(), x.min(y) ---------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    int code;
    PyObject *name, *qualname, *doc;
} Method;

static PyObject *Method_vectorcall(Method *m, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    OpRow *row = &rows[m->code];
    if ((kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0) || n != row->arity) {
        PyErr_Format(PyExc_TypeError, "%U() takes %d positional argument(s) but %zd were given", m->name, row->arity,
                     n + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0));
        return NULL;
    }
    if (!IS_NODE(args[0])) {
        PyErr_Format(PyExc_TypeError, "%U() needs a Value, not %.100s", m->name, Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    if (n == 1) return apply(m->code, (Node *)args[0], NULL);
    PyObject *other = as_node(args[1]);
    if (other == NULL || other == Py_NotImplemented) return other;
    PyObject *r = apply(m->code, (Node *)args[0], (Node *)other);
    Py_DECREF(other);
    return r;
}

static PyObject *Method_get(PyObject *self, PyObject *obj, PyObject *type) {
    if (obj == NULL || obj == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

static void Method_dealloc(Method *m) {
    Py_XDECREF(m->name);
    Py_XDECREF(m->qualname);
    Py_XDECREF(m->doc);
    PyObject_Free(m);
}

static PyMemberDef Method_members[] = {
    {"__name__", T_OBJECT, offsetof(Method, name), 0, NULL},
    {"__qualname__", T_OBJECT, offsetof(Method, qualname), 0, NULL},
    {"__doc__", T_OBJECT, offsetof(Method, doc), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject MethodType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "autodiff_cli._speedups.Method",
    .tp_basicsize = sizeof(Method),
    .tp_dealloc = (destructor)Method_dealloc,
    .tp_vectorcall_offset = offsetof(Method, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_METHOD_DESCRIPTOR | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "an operation of ops.OPS as a method of Value",
    .tp_members = Method_members,
    .tp_descr_get = Method_get,
};

static PyObject *make_method(PyObject *mod, PyObject *name) {
    int code = op_code(name);
    if (code < 0) {
        if (code == -1) PyErr_SetString(PyExc_ValueError, "method: the name of an operation, not ''");
        return NULL;
    }
    Method *m = PyObject_New(Method, &MethodType);
    if (m == NULL) return NULL;
    m->vectorcall = (vectorcallfunc)Method_vectorcall;
    m->code = code;
    Py_INCREF(name);
    m->name = name;
    Py_INCREF(name);
    m->qualname = name;
    Py_INCREF(Py_None);
    m->doc = Py_None;
    return (PyObject *)m;
}
