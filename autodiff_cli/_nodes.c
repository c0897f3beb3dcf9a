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

enum { K_NONE = -1, K_ADD, K_SUB, K_MUL, K_DIV, K_NEG, K_EXP, K_LOG, K_SQRT, K_SIN, K_COS, K_TAN, K_TANH, K_ATAN,
       K_SIGMOID, K_RELU, N_KERNELS };
static const char *kernel_names[N_KERNELS] = {"+", "-", "*", "/", "neg", "exp", "log", "sqrt", "sin", "cos", "tan",
                                              "tanh", "atan", "sigmoid", "relu"};

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

/* Value(data, _children=(), _op=""): engine's constructor, with its rule for numbers. */
static PyObject *Node_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"data", "_children", "_op", NULL};
    PyObject *data_o, *children = NULL, *op = NULL, *kids = NULL, *result = NULL;
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
    int code = -1;
    if (op != NULL) {
        if (!PyUnicode_Check(op)) {
            PyErr_Format(PyExc_TypeError, "Value's _op is the name of an operation, not %.100s", Py_TYPE(op)->tp_name);
            return NULL;
        }
        if (PyUnicode_GET_LENGTH(op) > 0) {
            if (!ready()) return NULL;
            PyObject *c = PyDict_GetItemWithError(codes, op);
            if (c == NULL) {
                if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "Value's _op must name an operation of ops.OPS, not %R", op);
                return NULL;
            }
            code = (int)PyLong_AsLong(c);
        }
    }
    if (children == NULL) {
        kids = PyTuple_New(0);
    } else if (PyTuple_CheckExact(children)) {
        Py_INCREF(children);
        kids = children;
    } else {
        kids = PySequence_Tuple(children);
    }
    if (kids == NULL) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(kids);
    if (n > 2) {
        PyErr_SetString(PyExc_ValueError, "a Value has at most two children: every operation takes one or two arguments");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!IS_NODE(PyTuple_GET_ITEM(kids, i))) {
            PyErr_Format(PyExc_TypeError, "a Value's children are Values, not %.100s", Py_TYPE(PyTuple_GET_ITEM(kids, i))->tp_name);
            goto done;
        }
    }
    if (code >= 0 && n != rows[code].arity) {
        PyErr_Format(PyExc_ValueError, "%U takes %d argument(s), not %zd", rows[code].name, rows[code].arity, n);
        goto done;
    }
    result = (PyObject *)new_node(type, data, n > 0 ? (Node *)PyTuple_GET_ITEM(kids, 0) : NULL,
                                  n > 1 ? (Node *)PyTuple_GET_ITEM(kids, 1) : NULL, code);
done:
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
    if (nargs != 2 || !PyTuple_CheckExact(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "node(children: tuple, op: str)");
        return NULL;
    }
    PyObject *c = PyDict_GetItemWithError(codes, args[1]);
    if (c == NULL) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "Value's _op must name an operation of ops.OPS, not %R", args[1]);
        return NULL;
    }
    int code = (int)PyLong_AsLong(c);
    Py_ssize_t n = PyTuple_GET_SIZE(args[0]);
    if (n != rows[code].arity) {
        PyErr_Format(PyExc_ValueError, "%U takes %d argument(s), not %zd", rows[code].name, rows[code].arity, n);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!IS_NODE(PyTuple_GET_ITEM(args[0], i))) {
            PyErr_SetString(PyExc_TypeError, "a Value's children are Values");
            return NULL;
        }
    }
    return (PyObject *)new_node(value_cls, 0.0, (Node *)PyTuple_GET_ITEM(args[0], 0), n > 1 ? (Node *)PyTuple_GET_ITEM(args[0], 1) : NULL, code);
}

/* leaf(x): Value(x) for a finite float, without the type call: the parser's numbers and names. */
static PyObject *nodes_leaf(PyObject *mod, PyObject *x) {
    if (!ready()) return NULL;
    if (!PyFloat_CheckExact(x) || !isfinite(PyFloat_AS_DOUBLE(x))) return PyObject_CallOneArg((PyObject *)value_cls, x);
    return (PyObject *)new_node(value_cls, PyFloat_AS_DOUBLE(x), NULL, NULL, -1);
}

/* --- attributes -------------------------------------------------------------------------------------- */

static PyObject *get_data(Node *self, void *closure) { return PyFloat_FromDouble(self->data); }

static int set_data(Node *self, PyObject *value, void *closure) {
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a Value's data cannot be deleted");
        return -1;
    }
    double d = PyFloat_AsDouble(value);
    if (d == -1.0 && PyErr_Occurred()) return -1;
    self->data = d;
    return 0;
}

static PyObject *get_grad(Node *self, void *closure) {
    if (self->grad_obj != NULL) {
        Py_INCREF(self->grad_obj);
        return self->grad_obj;
    }
    return PyFloat_FromDouble(self->grad);
}

/* Track self, obj, and every node either reaches: a gradient graph may lead back to self, and the collector
 * sees a cycle only if every object on it is tracked. A node is closed once it and all it reaches are, so
 * each node is walked once however many gradients reach it (backward(create_graph=True) sets them all). */
static int track_from(Node *self, PyObject *obj) {
    if (!PyObject_GC_IsTracked((PyObject *)self)) PyObject_GC_Track(self);
    Py_ssize_t cap = 64, top = 0;
    Node **stack = PyMem_Malloc(sizeof(Node *) * (size_t)cap);
    if (stack == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    stack[top++] = self;
    if (IS_NODE(obj)) stack[top++] = (Node *)obj;
    while (top > 0) {
        Node *v = stack[--top];
        if (v->closed) continue;
        v->closed = 1;
        if (!PyObject_GC_IsTracked((PyObject *)v)) PyObject_GC_Track(v);
        for (int i = 0; i < v->n_kids; i++) {
            if (top == cap) {
                Node **more = PyMem_Realloc(stack, sizeof(Node *) * (size_t)(cap *= 2));
                if (more == NULL) {
                    PyMem_Free(stack);
                    PyErr_NoMemory();
                    return -1;
                }
                stack = more;
            }
            stack[top++] = v->kid[i];
        }
    }
    PyMem_Free(stack);
    return 0;
}

static int set_grad(Node *self, PyObject *value, void *closure) {
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a Value's grad cannot be deleted");
        return -1;
    }
    PyObject *old = self->grad_obj;
    if (PyFloat_CheckExact(value)) {
        self->grad = PyFloat_AS_DOUBLE(value);
        self->grad_obj = NULL;
    } else {
        if (track_from(self, value) < 0) return -1;
        Py_INCREF(value);
        self->grad_obj = value;
    }
    Py_XDECREF(old);
    return 0;
}

static PyObject *get_op(Node *self, void *closure) {
    PyObject *name = self->code >= 0 ? rows[self->code].name : empty;
    Py_INCREF(name);
    return name;
}

static PyObject *get_prev(Node *self, void *closure) {
    PyObject *t = PyTuple_New(self->n_kids);
    if (t == NULL) return NULL;
    for (int i = 0; i < self->n_kids; i++) {
        Py_INCREF(self->kid[i]);
        PyTuple_SET_ITEM(t, i, (PyObject *)self->kid[i]);
    }
    return t;
}

static PyGetSetDef Node_getset[] = {
    {"data", (getter)get_data, (setter)set_data, "the node's value: a float", NULL},
    {"grad", (getter)get_grad, (setter)set_grad, "d(root)/d(node) after root.backward(): a float, or a Value with create_graph", NULL},
    {"_op", (getter)get_op, NULL, "the operation's name in ops.OPS; '' for a leaf", NULL},
    {"_prev", (getter)get_prev, NULL, "the children, in order, as a tuple", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* Pickled as _rebuild(cls, data, children, op) and the gradient as the state, set after the node is
 * remembered, so a gradient graph that leads back to its node pickles; nan and inf data survive. */
static PyObject *Node_reduce(Node *self, PyObject *unused) {
    PyObject *rebuild = rebuild_fn;
    Py_INCREF(rebuild);
    PyObject *prev = get_prev(self, NULL), *op = get_op(self, NULL), *grad = get_grad(self, NULL);
    PyObject *r = NULL;
    if (prev != NULL && op != NULL && grad != NULL) {
        r = Py_BuildValue("(O(OdOO)O)", rebuild, (PyObject *)Py_TYPE(self), self->data, prev, op, grad);
    }
    Py_DECREF(rebuild);
    Py_XDECREF(prev);
    Py_XDECREF(op);
    Py_XDECREF(grad);
    return r;
}

static PyObject *nodes_rebuild(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &NodeType)) {
        PyErr_SetString(PyExc_TypeError, "_rebuild(cls, data, children, op)");
        return NULL;
    }
    double data = PyFloat_AsDouble(args[1]);
    if (data == -1.0 && PyErr_Occurred()) return NULL;
    PyObject *built_args = Py_BuildValue("(dOO)", 0.0, args[2], args[3]);
    if (built_args == NULL) return NULL;
    PyObject *v = Node_new((PyTypeObject *)args[0], built_args, NULL);
    Py_DECREF(built_args);
    if (v == NULL) return NULL;
    ((Node *)v)->data = data;
    return v;
}

static PyObject *Node_setstate(Node *self, PyObject *grad) {
    if (set_grad(self, grad, NULL) < 0) return NULL;
    Py_RETURN_NONE;
}

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
    if (!ready()) return NULL;
    PyObject *c = PyDict_GetItemWithError(codes, name);
    if (c == NULL) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "ops.OPS has no %R", name);
        return NULL;
    }
    Method *m = PyObject_New(Method, &MethodType);
    if (m == NULL) return NULL;
    m->vectorcall = (vectorcallfunc)Method_vectorcall;
    m->code = (int)PyLong_AsLong(c);
    Py_INCREF(name);
    m->name = name;
    Py_INCREF(name);
    m->qualname = name;
    Py_INCREF(Py_None);
    m->doc = Py_None;
    return (PyObject *)m;
}

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

/* --- walking graphs: engine's forward, backpropagate and topological_order ------------------------------ */

static int node_items(PyObject *seq, const char *what) {
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!IS_NODE(items[i])) {
            PyErr_Format(PyExc_TypeError, "%s: %.100s is not a Value", what, Py_TYPE(items[i])->tp_name);
            return -1;
        }
    }
    return 0;
}

/* forward(nodes): engine.forward(nodes, strict=True). A node the kernels and its row cannot settle goes to
 * engine's Python loop, alone, which computes it or raises the error that loop raises. */
static PyObject *nodes_forward(PyObject *mod, PyObject *nodes) {
    if (!ready()) return NULL;
    PyObject *seq = PySequence_Tuple(nodes); /* a snapshot: Python code may run on the way */
    if (seq == NULL) return NULL;
    if (node_items(seq, "forward") < 0) goto fail;
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        Node *v = (Node *)PyTuple_GET_ITEM(seq, i);
        if (v->code >= 0) {
            OpRow *row = &rows[v->code];
            double xs[2] = {v->kid[0]->data, row->arity == 2 ? v->kid[1]->data : 0.0}, out;
            if (forward_kernel(row->kernel, xs[0], xs[1], &out)) {
                v->data = out;
                continue;
            }
            if (!row->domain) {
                PyObject *r = float_args_call(row->forward, row->arity, xs);
                if (r != NULL) {
                    out = PyFloat_AsDouble(r);
                    Py_DECREF(r);
                    if (out == -1.0 && PyErr_Occurred()) goto fail;
                    if (isfinite(out)) {
                        v->data = out;
                        continue;
                    }
                } else if (PyErr_ExceptionMatches(arith_errors)) {
                    PyErr_Clear();
                } else {
                    goto fail;
                }
            }
        }
        PyObject *one = PyTuple_Pack(1, (PyObject *)v);
        if (one == NULL) goto fail;
        PyObject *r = PyObject_CallFunctionObjArgs(py_forward, one, Py_True, NULL);
        Py_DECREF(one);
        if (r == NULL) goto fail;
        Py_DECREF(r);
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
fail:
    Py_DECREF(seq);
    return NULL;
}

static void set_float_grad(Node *v, double g, PyObject *dropped) {
    if (v->grad_obj != NULL) {
        /* dropped later: freeing it now could run Python code in the middle of the walk */
        if (PyList_Append(dropped, v->grad_obj) < 0) PyErr_Clear(); /* then it is freed here, as it would be */
        Py_CLEAR(v->grad_obj);
    }
    v->grad = g;
}

/* backpropagate(order, root): engine.backpropagate(order, root) without careful. */
static PyObject *nodes_backpropagate(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    if (!ready()) return NULL;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "backpropagate(order, root)");
        return NULL;
    }
    PyObject *seq = PySequence_Tuple(args[0]), *dropped = NULL, *root = args[1];
    if (seq == NULL) return NULL;
    if (node_items(seq, "backpropagate") < 0) goto fail;
    if (root != Py_None && !IS_NODE(root)) {
        PyErr_SetString(PyExc_TypeError, "backpropagate: root is not a Value");
        goto fail;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    if ((dropped = PyList_New(0)) == NULL) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) set_float_grad((Node *)PyTuple_GET_ITEM(seq, i), 0.0, dropped);
    if (n == 0) goto done;
    set_float_grad(root == Py_None ? (Node *)PyTuple_GET_ITEM(seq, n - 1) : (Node *)root, 1.0, dropped);
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        Node *v = (Node *)PyTuple_GET_ITEM(seq, i);
        double g = v->grad, da = 0.0, db = 0.0;
        if (g == 0.0 || v->code < 0) continue;
        OpRow *row = &rows[v->code];
        Node *a = v->kid[0], *b = row->arity == 2 ? v->kid[1] : NULL;
        double x = a->data, y = b != NULL ? b->data : 0.0;
        if (!derivative_kernel(row->kernel, x, y, v->data, &da, &db)) {
            double xs[3] = {x, b != NULL ? y : v->data, v->data};
            PyObject *r = float_args_call(row->derivative, row->arity + 1, xs);
            if (r == NULL) {
                if (!PyErr_ExceptionMatches(arith_errors)) goto fail;
                PyErr_Clear();
                goto pure;
            }
            if (b == NULL) {
                da = PyFloat_AsDouble(r);
            } else if (PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 2) {
                da = PyFloat_AsDouble(PyTuple_GET_ITEM(r, 0));
                if (!(da == -1.0 && PyErr_Occurred())) db = PyFloat_AsDouble(PyTuple_GET_ITEM(r, 1));
            } else {
                PyErr_Format(PyExc_TypeError, "the derivative of %U gave %R, not two numbers", row->name, r);
            }
            Py_DECREF(r);
            if (PyErr_Occurred()) goto fail;
        }
        a->grad += g * da;
        if (b != NULL) b->grad += g * db;
        continue;
    pure: {
        PyObject *gf = PyFloat_FromDouble(g);
        if (gf == NULL) goto fail;
        PyObject *r = PyObject_CallFunctionObjArgs(py_pass_back, (PyObject *)v, gf, NULL);
        Py_DECREF(gf);
        if (r == NULL) goto fail;
        Py_DECREF(r);
    }
    }
done:
    Py_DECREF(seq);
    Py_DECREF(dropped);
    Py_RETURN_NONE;
fail:
    Py_DECREF(seq);
    Py_XDECREF(dropped);
    return NULL;
}

/* topological_order(root): engine.topological_order, the same Kahn's algorithm, so the same order. The
 * parents are counted in the nodes' mark (no Python code runs here, so no other sort can see it), and every
 * mark is -1 again before this returns. */
static PyObject *nodes_topological_order(PyObject *mod, PyObject *root_o) {
    if (!IS_NODE(root_o)) {
        PyErr_SetString(PyExc_TypeError, "topological_order: root is not a Value");
        return NULL;
    }
    Node *root = (Node *)root_o;
    Py_ssize_t cap = 256, n_seen = 0, top = 0, n_order = 0;
    Node **seen = PyMem_Malloc(sizeof(Node *) * (size_t)cap); /* every node reached, also the stack of phase 1 */
    Node **stack = PyMem_Malloc(sizeof(Node *) * (size_t)cap);
    Py_ssize_t stack_cap = cap;
    Node **placed = NULL;
    PyObject *order = NULL;
    if (seen == NULL || stack == NULL) {
        PyErr_NoMemory();
        goto out;
    }
#define PUSH(arr, len, capv, item)                                                      \
    do {                                                                                \
        if ((len) == (capv)) {                                                          \
            Node **more_ = PyMem_Realloc((arr), sizeof(Node *) * (size_t)((capv) * 2)); \
            if (more_ == NULL) {                                                        \
                PyErr_NoMemory();                                                       \
                goto out;                                                               \
            }                                                                           \
            (arr) = more_;                                                              \
            (capv) *= 2;                                                                \
        }                                                                               \
        (arr)[(len)++] = (item);                                                        \
    } while (0)
    root->mark = 0;
    seen[n_seen++] = root;
    for (Py_ssize_t next = 0; next < n_seen; next++) { /* seen doubles as the queue: the counts do not care */
        Node *v = seen[next];
        for (int i = 0; i < v->n_kids; i++) {
            Node *c = v->kid[i];
            if (c->mark < 0) {
                c->mark = 1;
                PUSH(seen, n_seen, cap, c);
            } else {
                c->mark++;
            }
        }
    }
    /* The order goes to C memory first: the list is made only once every mark is -1 again, because making
     * it may run the collector, whose finalizers may run Python code and let another thread sort. */
    if ((placed = PyMem_Malloc(sizeof(Node *) * (size_t)n_seen)) == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    n_order = n_seen;
    PUSH(stack, top, stack_cap, root);
    while (top > 0) {
        Node *v = stack[--top];
        placed[--n_order] = v; /* filled from the end: the reverse, in place */
        for (int i = 0; i < v->n_kids; i++) {
            Node *c = v->kid[i];
            if (--c->mark == 0) PUSH(stack, top, stack_cap, c);
        }
    }
#undef PUSH
out:
    if (seen != NULL) {
        for (Py_ssize_t i = 0; i < n_seen; i++) seen[i]->mark = -1;
    }
    if (placed != NULL && !PyErr_Occurred() && n_order == 0 && (order = PyList_New(n_seen)) != NULL) {
        for (Py_ssize_t i = 0; i < n_seen; i++) {
            Py_INCREF(placed[i]);
            PyList_SET_ITEM(order, i, (PyObject *)placed[i]);
        }
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_RuntimeError, "topological_order: the graph changed while it was sorted");
    }
    PyMem_Free(seen);
    PyMem_Free(stack);
    PyMem_Free(placed);
    return order;
}

/* --- set-up, and the kernels for the tests -------------------------------------------------------------- */

static int kernel_of(PyObject *name) {
    for (int k = 0; k < N_KERNELS; k++) {
        if (PyUnicode_CompareWithASCIIString(name, kernel_names[k]) == 0) return k;
    }
    return K_NONE;
}

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
