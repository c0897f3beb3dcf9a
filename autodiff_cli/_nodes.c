/* engine.Value's nodes in C: part of the optional compiled core (docs/performance.md, "The compiled core").
 *
 * Node is the base class of engine.Value when the core is compiled. A node holds its value and gradient as
 * C doubles and its one or two children as pointers, so building a graph makes one small object a node and
 * no tuple or float; and it is untracked by the cyclic garbage collector, which a graph cannot need: a
 * node's children exist before it and never change, so only a gradient that is itself a graph (backward
 * with create_graph) can close a cycle, and such a node is tracked, with every node it reaches.
 *
 * The math is engine.py's and ops.py's. setup() hands this module ops.OPS as a table (each operation's
 * Python forward and derivative, and whether it has a domain) and engine's functions for everything
 * unusual. A few operations have a kernel here: the same IEEE expression as their Python row, or the same
 * libm function Python's math module calls, used only where that row would give a finite number and raise
 * nothing (tests/test_core.py compares every kernel with its row, bit for bit). Any other case goes to the
 * Python row or to engine's own code for that one node, which decides every error, so messages and numbers
 * are the pure core's.
 *
 * One unit in six files, each included once below: _nodes_kernels.h (the kernels), _nodes_attributes.h (data,
 * grad, _op, _prev, the collector, pickling), _nodes_methods.h (x.tanh() and the like), _nodes_shortcuts.h
 * (the parser builder's busiest callbacks), _nodes_walks.h (forward, backpropagate, topological_order); this
 * file makes nodes, holds the table and the module's functions.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Node {
    PyObject_HEAD
    double data;
    double grad;
    PyObject *grad_obj;  /* the gradient when it is not a float (backward(create_graph=True)); NULL otherwise */
    struct Node *kid[2]; /* the children, NULL past n_kids */
    int32_t mark;        /* scratch for topological_order: -1 between sorts */
    int16_t code;        /* the operation's row in ops[], -1 for a leaf */
    int8_t n_kids;
    int8_t closed;       /* tracked by the collector, and so is every node it reaches (track_from) */
} Node;

#include "_nodes_kernels.h"

typedef struct {
    PyObject *name;       /* the row's name (ops.Op.name), also what Value._op gives */
    PyObject *op;         /* the ops.Op itself, for engine.compute */
    PyObject *forward;    /* Op.forward */
    PyObject *derivative; /* Op.derivative */
    int arity, kernel, domain;
} OpRow;

static PyTypeObject NodeType, MethodType;
static PyTypeObject *value_cls;    /* engine.Value: what operators make */
static OpRow *rows;
static int n_rows;
static PyObject *codes;            /* name -> row number */
static PyObject *empty;            /* "" */
static PyObject *arith_errors;     /* (OverflowError, ValueError, ZeroDivisionError): what engine treats as a node's failure */
static PyObject *py_compute;       /* engine.compute(op, args) */
static PyObject *py_as_value;      /* engine._as_value(x) */
static PyObject *py_as_number;     /* bindings.as_number(x, what) */
static PyObject *py_forward;       /* engine's Python forward(nodes, strict): one node the pure way */
static PyObject *py_pass_back;     /* engine._pass_back(v, g): one node's gradient the pure way */
static PyObject *value_what;       /* "a number given to Value" */
static PyObject *rebuild_fn;       /* this module's _rebuild, which pickles find by name */

#define IS_NODE(o) PyObject_TypeCheck((o), &NodeType)

/* --- making nodes ------------------------------------------------------------------------------------ */

static int ready(void) {
    if (value_cls == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "autodiff_cli._speedups: setup() was not called (engine.py calls it)");
        return 0;
    }
    return 1;
}

/* A node of type tp, untracked; a subclass with slots or a __dict__ of its own is allocated and tracked as
 * Python allocates it, since its own fields may close cycles. */
static Node *new_node(PyTypeObject *tp, double data, Node *a, Node *b, int code) {
    Node *v;
    if (tp->tp_basicsize == (Py_ssize_t)sizeof(Node) && tp->tp_dictoffset == 0 && !(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)) {
        v = PyObject_GC_New(Node, tp);
    } else {
        v = (Node *)tp->tp_alloc(tp, 0);
    }
    if (v == NULL) return NULL;
    v->data = data;
    v->grad = 0.0;
    v->grad_obj = NULL;
    v->mark = -1;
    v->code = (int16_t)code;
    v->n_kids = (int8_t)(a == NULL ? 0 : (b == NULL ? 1 : 2));
    v->closed = 0;
    Py_XINCREF(a);
    Py_XINCREF(b);
    v->kid[0] = a;
    v->kid[1] = b;
    return v;
}

static PyObject *float_args_call(PyObject *f, int n, const double *xs) {
    PyObject *args[3] = {NULL, NULL, NULL};
    PyObject *r = NULL;
    for (int i = 0; i < n; i++) {
        if ((args[i] = PyFloat_FromDouble(xs[i])) == NULL) goto done;
    }
    r = PyObject_Vectorcall(f, args, (size_t)n, NULL);
done:
    for (int i = 0; i < n; i++) Py_XDECREF(args[i]);
    return r;
}

/* engine's rule for a new node's value, as _unary_method and _binary_method apply it: the row's forward
 * when it has no domain and gives a finite number, else engine.compute, which raises or says what it is. */
static int value_of(int code, const double *xs, double *out) {
    OpRow *row = &rows[code];
    if (forward_kernel(row->kernel, xs[0], row->arity == 2 ? xs[1] : 0.0, out)) return 0;
    if (!row->domain) {
        PyObject *r = float_args_call(row->forward, row->arity, xs);
        if (r == NULL) {
            if (!PyErr_ExceptionMatches(arith_errors)) return -1;
            PyErr_Clear();
        } else {
            double d = PyFloat_AsDouble(r);
            Py_DECREF(r);
            if (d == -1.0 && PyErr_Occurred()) return -1;
            if (isfinite(d)) {
                *out = d;
                return 0;
            }
        }
    }
    PyObject *tuple = PyTuple_New(row->arity);
    if (tuple == NULL) return -1;
    for (int i = 0; i < row->arity; i++) {
        PyObject *x = PyFloat_FromDouble(xs[i]);
        if (x == NULL) {
            Py_DECREF(tuple);
            return -1;
        }
        PyTuple_SET_ITEM(tuple, i, x);
    }
    PyObject *r = PyObject_CallFunctionObjArgs(py_compute, row->op, tuple, NULL);
    Py_DECREF(tuple);
    if (r == NULL) return -1;
    *out = PyFloat_AsDouble(r);
    Py_DECREF(r);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static PyObject *apply(int code, Node *a, Node *b) {
    double xs[2] = {a->data, b == NULL ? 0.0 : b->data}, out;
    if (value_of(code, xs, &out) < 0) return NULL;
    return (PyObject *)new_node(value_cls, out, a, b, code);
}

/* x as a node, as engine._as_value has it; a new reference, or Py_NotImplemented (new), or NULL on error. */
static PyObject *as_node(PyObject *x) {
    if (IS_NODE(x)) {
        Py_INCREF(x);
        return x;
    }
    if (PyFloat_CheckExact(x) && isfinite(PyFloat_AS_DOUBLE(x))) return (PyObject *)new_node(value_cls, PyFloat_AS_DOUBLE(x), NULL, NULL, -1);
    PyObject *v = PyObject_CallOneArg(py_as_value, x);
    if (v == Py_None) {
        Py_DECREF(v);
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (v != NULL && !IS_NODE(v)) {
        Py_DECREF(v);
        PyErr_SetString(PyExc_TypeError, "engine._as_value gave something that is not a Value");
        return NULL;
    }
    return v;
}

/* The rows of Python's operators, found at setup. */
static int c_add = -1, c_sub = -1, c_mul = -1, c_div = -1, c_pow = -1, c_neg = -1;

/* left <op> right where one of them is a node: Python's operators, reflected ones included. */
static PyObject *binary(PyObject *left, PyObject *right, int code) {
    if (!ready()) return NULL;
    PyObject *a = as_node(left);
    if (a == NULL || a == Py_NotImplemented) return a;
    PyObject *b = as_node(right);
    if (b == NULL || b == Py_NotImplemented) {
        Py_DECREF(a);
        return b;
    }
    PyObject *r = apply(code, (Node *)a, (Node *)b);
    Py_DECREF(a);
    Py_DECREF(b);
    return r;
}

static PyObject *Node_add(PyObject *a, PyObject *b) { return binary(a, b, c_add); }
static PyObject *Node_sub(PyObject *a, PyObject *b) { return binary(a, b, c_sub); }
static PyObject *Node_mul(PyObject *a, PyObject *b) { return binary(a, b, c_mul); }
static PyObject *Node_div(PyObject *a, PyObject *b) { return binary(a, b, c_div); }
static PyObject *Node_pow(PyObject *a, PyObject *b, PyObject *mod) {
    if (mod != Py_None) Py_RETURN_NOTIMPLEMENTED;
    return binary(a, b, c_pow);
}
static PyObject *Node_neg(PyObject *a) {
    if (!ready()) return NULL;
    return apply(c_neg, (Node *)a, NULL);
}

/* The row of ops.OPS that op names, -1 for "" (a leaf); -2, with the error set, for anything else. */
static int op_code(PyObject *op) {
    if (!PyUnicode_Check(op)) {
        PyErr_Format(PyExc_TypeError, "Value's _op is the name of an operation, not %.100s", Py_TYPE(op)->tp_name);
        return -2;
    }
    if (PyUnicode_GET_LENGTH(op) == 0) return -1;
    if (!ready()) return -2;
    PyObject *c = PyDict_GetItemWithError(codes, op);
    if (c == NULL) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "Value's _op must name an operation of ops.OPS, not %R", op);
        return -2;
    }
    return (int)PyLong_AsLong(c);
}

/* A node of type with these children (a tuple) and row: what no operation is (more than two children, a
 * child that is no Value, a row's arity not met) is refused. */
static PyObject *node_of(PyTypeObject *type, double data, PyObject *kids, int code) {
    Py_ssize_t n = PyTuple_GET_SIZE(kids);
    if (n > 2) {
        PyErr_SetString(PyExc_ValueError, "a Value has at most two children: every operation takes one or two arguments");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!IS_NODE(PyTuple_GET_ITEM(kids, i))) {
            PyErr_Format(PyExc_TypeError, "a Value's children are Values, not %.100s", Py_TYPE(PyTuple_GET_ITEM(kids, i))->tp_name);
            return NULL;
        }
    }
    if (code >= 0 && n != rows[code].arity) {
        PyErr_Format(PyExc_ValueError, "%U takes %d argument(s), not %zd", rows[code].name, rows[code].arity, n);
        return NULL;
    }
    return (PyObject *)new_node(type, data, n > 0 ? (Node *)PyTuple_GET_ITEM(kids, 0) : NULL,
                                n > 1 ? (Node *)PyTuple_GET_ITEM(kids, 1) : NULL, code);
}

/* Value(data, _children=(), _op=""): engine's constructor, with its rule for numbers. */
static PyObject *Node_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"data", "_children", "_op", NULL};
    PyObject *data_o, *children = NULL, *op = NULL;
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (kwds == NULL && nargs >= 1 && nargs <= 3) {
        data_o = PyTuple_GET_ITEM(args, 0);
        if (nargs > 1) children = PyTuple_GET_ITEM(args, 1);
        if (nargs > 2) op = PyTuple_GET_ITEM(args, 2);
    } else if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OO:Value", kwlist, &data_o, &children, &op)) {
        return NULL;
    }
    double data;
    if (PyFloat_CheckExact(data_o) && isfinite(PyFloat_AS_DOUBLE(data_o))) {
        data = PyFloat_AS_DOUBLE(data_o);
    } else {
        if (!ready()) return NULL;
        PyObject *r = PyObject_CallFunctionObjArgs(py_as_number, data_o, value_what, NULL);
        if (r == NULL) return NULL;
        data = PyFloat_AsDouble(r);
        Py_DECREF(r);
        if (data == -1.0 && PyErr_Occurred()) return NULL;
    }
    int code = op == NULL ? -1 : op_code(op);
    if (code == -2) return NULL;
    PyObject *kids = children == NULL ? PyTuple_New(0) : PySequence_Tuple(children);  /* a tuple comes back as it is */
    if (kids == NULL) return NULL;
    PyObject *result = node_of(type, data, kids, code);
    Py_DECREF(kids);
    return result;
}

static int Node_traverse(Node *self, visitproc visit, void *arg) {
    Py_VISIT(self->kid[0]);
    Py_VISIT(self->kid[1]);
    Py_VISIT(self->grad_obj);
    return 0;
}

static int Node_clear(Node *self) {
    Py_CLEAR(self->grad_obj); /* every cycle passes through a gradient: children never change */
    return 0;
}

static void Node_dealloc(Node *self) {
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, Node_dealloc) /* a chain of a million nodes is freed without a million C frames */
    Py_XDECREF(self->kid[0]);
    Py_XDECREF(self->kid[1]);
    Py_XDECREF(self->grad_obj);
    Py_TYPE(self)->tp_free((PyObject *)self);
    Py_TRASHCAN_END
}

/* node(children, op): Value(0.0, children, op) without the type call; the parser's builder makes every
 * operation's node with it, and forward fills in the value. */
static PyObject *nodes_node(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    if (!ready()) return NULL;
    if (nargs != 2 || !PyTuple_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "node(children: tuple, op: str)");
        return NULL;
    }
    int code = op_code(args[1]);
    return code == -2 ? NULL : node_of(value_cls, 0.0, args[0], code);
}

/* leaf(x): Value(x) for a finite float, without the type call: the parser's numbers and names. */
static PyObject *nodes_leaf(PyObject *mod, PyObject *x) {
    if (!ready()) return NULL;
    if (!PyFloat_CheckExact(x) || !isfinite(PyFloat_AS_DOUBLE(x))) return PyObject_CallOneArg((PyObject *)value_cls, x);
    return (PyObject *)new_node(value_cls, PyFloat_AS_DOUBLE(x), NULL, NULL, -1);
}

#include "_nodes_attributes.h"

static PyMethodDef Node_methods[] = {
    {"__reduce__", (PyCFunction)Node_reduce, METH_NOARGS, "pickle support: nan and inf values survive"},
    {"__setstate__", (PyCFunction)Node_setstate, METH_O, "pickle support: the gradient"},
    {NULL, NULL, 0, NULL},
};

static PyNumberMethods Node_as_number = {
    .nb_add = Node_add,
    .nb_subtract = Node_sub,
    .nb_multiply = Node_mul,
    .nb_true_divide = Node_div,
    .nb_power = Node_pow,
    .nb_negative = Node_neg,
};

static PyTypeObject NodeType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "autodiff_cli._speedups.Node",
    .tp_basicsize = sizeof(Node),
    .tp_dealloc = (destructor)Node_dealloc,
    .tp_as_number = &Node_as_number,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "engine.Value's base in the compiled core: a value, a gradient, an operation and its children.",
    .tp_traverse = (traverseproc)Node_traverse,
    .tp_clear = (inquiry)Node_clear,
    .tp_methods = Node_methods,
    .tp_getset = Node_getset,
    .tp_new = Node_new,
};

#include "_nodes_methods.h"
#include "_nodes_shortcuts.h"
#include "_nodes_walks.h"

/* --- set-up, and the kernels for the tests -------------------------------------------------------------- */

/* setup(cls, rows, compute, as_value, as_number, forward, pass_back): rows are (name, op, arity, forward,
 * derivative, has_domain, trusted) for every operation of ops.OPS; a kernel stands in for a row only when it
 * is trusted (the row ops.py wrote, not one put in its place). engine.py calls it at import, and again
 * (engine.refresh_ops) when a row was replaced: the same rows in the same order. */
static PyObject *nodes_setup(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "setup(cls, rows, compute, as_value, as_number, forward, pass_back)");
        return NULL;
    }
    PyObject *cls = args[0];
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &NodeType) ||
        ((PyTypeObject *)cls)->tp_basicsize != (Py_ssize_t)sizeof(Node)) {
        PyErr_SetString(PyExc_TypeError, "setup: cls must be a subclass of Node with __slots__ = ()");
        return NULL;
    }
    if (value_cls != NULL && cls != (PyObject *)value_cls) {
        PyErr_SetString(PyExc_RuntimeError, "setup: the nodes are engine.Value's already");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[1], "setup: rows");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > 30000 || (value_cls != NULL && n != n_rows)) { /* read again: the same rows, so every node's code holds */
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "setup: too many rows");
        return NULL;
    }
    OpRow *table = PyMem_Calloc((size_t)(n ? n : 1), sizeof(OpRow));
    PyObject *names = PyDict_New();
    if (table == NULL || names == NULL) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *name, *op, *fwd, *der;
        int arity, domain, trusted;
        if (!PyArg_ParseTuple(row, "UOiOOpp:setup row", &name, &op, &arity, &fwd, &der, &domain, &trusted)) goto fail;
        if (value_cls != NULL && PyUnicode_Compare(name, rows[i].name) != 0) {
            if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "setup: row %zd is %R, was %R", i, name, rows[i].name);
            goto fail;
        }
        if ((arity != 1 && arity != 2) || !PyCallable_Check(fwd) || !PyCallable_Check(der)) {
            PyErr_Format(PyExc_ValueError, "setup: row %R is not an operation of one or two arguments", name);
            goto fail;
        }
        PyObject *code = PyLong_FromSsize_t(i);
        if (code == NULL || PyDict_SetItem(names, name, code) < 0) {
            Py_XDECREF(code);
            goto fail;
        }
        Py_DECREF(code);
        Py_INCREF(name);
        Py_INCREF(op);
        Py_INCREF(fwd);
        Py_INCREF(der);
        table[i] = (OpRow){name, op, fwd, der, arity, trusted ? kernel_of(name) : K_NONE, domain};
        static const char *operators[6] = {"+", "-", "*", "/", "^", "neg"};
        static const int arities[6] = {2, 2, 2, 2, 2, 1};
        int *slots[6] = {&c_add, &c_sub, &c_mul, &c_div, &c_pow, &c_neg};
        for (int k = 0; k < 6; k++) {
            if (PyUnicode_CompareWithASCIIString(name, operators[k]) == 0 && arity == arities[k]) *slots[k] = (int)i;
        }
    }
    for (int k = 0; k < 6; k++) {
        int *slots[6] = {&c_add, &c_sub, &c_mul, &c_div, &c_pow, &c_neg};
        if (*slots[k] < 0) {
            PyErr_SetString(PyExc_ValueError, "setup: the rows lack one of + - * / ^ neg");
            goto fail;
        }
    }
    Py_DECREF(seq);
    for (int i = 2; i < 7; i++) Py_INCREF(args[i]);
    Py_INCREF(cls);
    rows = table;
    n_rows = (int)n;
    codes = names;
    py_compute = args[2];
    py_as_value = args[3];
    py_as_number = args[4];
    py_forward = args[5];
    py_pass_back = args[6];
    value_cls = (PyTypeObject *)cls;
    /* A table read before is kept, with all it holds: another thread may be inside one of its rows, in a
     * call to Python. Only refresh_ops reads the table again (tests that plant a row), so little is kept. */
    Py_RETURN_NONE;
fail:
    Py_DECREF(seq);
    if (table != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_XDECREF(table[i].name);
            Py_XDECREF(table[i].op);
            Py_XDECREF(table[i].forward);
            Py_XDECREF(table[i].derivative);
        }
    }
    PyMem_Free(table);
    Py_XDECREF(names);
    return NULL;
}

static PyMethodDef nodes_functions[] = {
    {"setup", (PyCFunction)(void (*)(void))nodes_setup, METH_FASTCALL, "engine.py hands over ops.OPS and its fallbacks."},
    {"method", (PyCFunction)make_method, METH_O, "method(name): ops.OPS[name] as a method of Value."},
    {"node", (PyCFunction)(void (*)(void))nodes_node, METH_FASTCALL, "node(children, op): Value(0.0, children, op), faster."},
    {"leaf", (PyCFunction)nodes_leaf, METH_O, "leaf(x): Value(x), faster."},
    {"shortcuts", (PyCFunction)(void (*)(void))nodes_shortcuts, METH_FASTCALL,
     "shortcuts(builder, binary, number, name, operators): the builder's busiest callbacks in C."},
    {"forward", (PyCFunction)nodes_forward, METH_O, "forward(nodes): engine.forward(nodes, strict=True)."},
    {"backpropagate", (PyCFunction)(void (*)(void))nodes_backpropagate, METH_FASTCALL,
     "backpropagate(order, root): engine.backpropagate(order, root)."},
    {"topological_order", (PyCFunction)nodes_topological_order, METH_O, "topological_order(root): engine's order."},
    {"_rebuild", (PyCFunction)(void (*)(void))nodes_rebuild, METH_FASTCALL, "_rebuild(cls, data, children, op): what pickles call."},
    {"kernel", (PyCFunction)nodes_kernel, METH_VARARGS, "kernel(name, x, y, out): what the kernels give, for tests."},
    {NULL, NULL, 0, NULL},
};

/* Called by PyInit__speedups: the nodes live in the one compiled module. */
int nodes_add(PyObject *module) {
    if (PyType_Ready(&NodeType) < 0 || PyType_Ready(&MethodType) < 0 || PyType_Ready(&ShortcutType) < 0) return -1;
    if ((s_nodes = PyUnicode_InternFromString("nodes")) == NULL || (s_positions = PyUnicode_InternFromString("positions")) == NULL ||
        (s_constants = PyUnicode_InternFromString("constants")) == NULL || (s_env = PyUnicode_InternFromString("env")) == NULL ||
        (s_inputs = PyUnicode_InternFromString("inputs")) == NULL || (s_append = PyUnicode_InternFromString("append")) == NULL)
        return -1;
    if ((empty = PyUnicode_InternFromString("")) == NULL) return -1;
    if ((value_what = PyUnicode_InternFromString("a number given to Value")) == NULL) return -1;
    arith_errors = PyTuple_Pack(3, PyExc_OverflowError, PyExc_ValueError, PyExc_ZeroDivisionError);
    if (arith_errors == NULL) return -1;
    PyObject *kernels = PyTuple_New(N_KERNELS);
    if (kernels == NULL) return -1;
    for (int k = 0; k < N_KERNELS; k++) {
        PyObject *s = PyUnicode_FromString(kernel_names[k]);
        if (s == NULL) {
            Py_DECREF(kernels);
            return -1;
        }
        PyTuple_SET_ITEM(kernels, k, s);
    }
    if (PyModule_AddObject(module, "KERNELS", kernels) < 0) {
        Py_DECREF(kernels);
        return -1;
    }
    Py_INCREF(&NodeType);
    if (PyModule_AddObject(module, "Node", (PyObject *)&NodeType) < 0) {
        Py_DECREF(&NodeType);
        return -1;
    }
    if (PyModule_AddFunctions(module, nodes_functions) < 0) return -1;
    rebuild_fn = PyObject_GetAttrString(module, "_rebuild");
    return rebuild_fn == NULL ? -1 : 0;
}
