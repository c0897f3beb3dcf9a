/* A node's attributes (data, grad, _op, _prev), the collector's view of a gradient graph, and pickling.
 * Part of _nodes.c, which includes it once (one unit, so its statics stay static). */
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
