/* engine's walks in C: forward, backpropagate, topological_order.
 * Part of _nodes.c, which includes it once (one unit, so its statics stay static). */
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
