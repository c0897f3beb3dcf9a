/* The LALR loop of lalr.Driver, in C: the optional compiled core (docs/performance.md, "The compiled core").
 *
 * Nothing here knows the grammar. lalr.Driver exports lark's own parse table as integer arrays when it is
 * built (actions by state and terminal, gotos by state and rule origin, each rule's size and callback) and
 * hands them to Loop(); Loop.run() reads the tokens that the driver's one regular expression finds (Python's
 * re, lark's pattern) and runs the same shifts and reductions as Driver.parse, calling the same builder
 * callbacks with the same arguments. On the first character no terminal matches, or the first token the
 * table has no action for, it raises the Reject it was given, as the Python loop does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* What the lexer does with a token, by terminal: the flags of lalr.py (_KEEP ... _STOP), checked there. */
enum { KEEP = 1, IGNORE = 2, COUNT = 4, OPEN = 8, CLOSE = 16, NEWLINE = 32, STOP = 64 };
#define MAX_PICK 16 /* the most children a callback is handed picked (lark's rules here keep at most 3) */

typedef struct {
    PyObject_HEAD
    int n_states, n_kinds, n_origins, n_rules, n_roles, start, end;
    int *action;   /* [state * n_kinds + kind]: 0 none, v > 0 shift to v - 1, v < 0 reduce rule -v - 1 */
    int *go;       /* [state * n_origins + origin]: the state after a reduction, -1 none */
    int *size;     /* per rule: how many children */
    int *origin;   /* per rule: its origin's number */
    int *roles;    /* per group number of the scanner's pattern: the flags above, -1 no terminal's */
    int **pick;    /* per rule: the children the callback gets, when it only drops some; NULL: all, or gather */
    int *n_pick;
    PyObject *methods; /* per rule: the callback, or None when the one child picked stands for the rule */
    PyObject *gathers; /* per rule: lark's child filter as a callable, or None */
    PyObject *token;   /* lalr.Token, a 3-tuple (value, line, column) */
    PyObject *reject;  /* lalr.Reject */
} Loop;

/* re.Match's lastindex and span, looked up once: a token costs no attribute lookup by name. */
static PyObject *match_type, *lastindex_descr, *span_descr;

static PyObject *lastindex_of(PyObject *m) {
    if (Py_TYPE(m) != (PyTypeObject *)match_type) {
        PyErr_SetString(PyExc_TypeError, "Loop.run: matches must yield re.Match objects");
        return NULL;
    }
    return Py_TYPE(lastindex_descr)->tp_descr_get(lastindex_descr, m, match_type);
}

static int *int_array(PyObject *seq, Py_ssize_t want, const char *what) {
    PyObject *fast = PySequence_Fast(seq, what);
    if (fast == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (want >= 0 && n != want) {
        PyErr_Format(PyExc_ValueError, "%s: %zd entries, expected %zd", what, n, want);
        Py_DECREF(fast);
        return NULL;
    }
    int *out = PyMem_Malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (out == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) {
            PyMem_Free(out);
            Py_DECREF(fast);
            return NULL;
        }
        if (v < INT_MIN || v > INT_MAX) {
            PyErr_Format(PyExc_ValueError, "%s: %ld is out of range", what, v);
            PyMem_Free(out);
            Py_DECREF(fast);
            return NULL;
        }
        out[i] = (int)v;
    }
    Py_DECREF(fast);
    return out;
}

static void Loop_dealloc(Loop *self) {
    if (self->pick != NULL) {
        for (int r = 0; r < self->n_rules; r++) PyMem_Free(self->pick[r]);
    }
    PyMem_Free(self->pick);
    PyMem_Free(self->n_pick);
    PyMem_Free(self->action);
    PyMem_Free(self->go);
    PyMem_Free(self->size);
    PyMem_Free(self->origin);
    PyMem_Free(self->roles);
    Py_XDECREF(self->methods);
    Py_XDECREF(self->gathers);
    Py_XDECREF(self->token);
    Py_XDECREF(self->reject);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Loop(n_states, n_kinds, n_origins, start, end, action, go, size, origin, picks, methods, gathers, roles, token, reject) */
static int Loop_init(Loop *self, PyObject *args, PyObject *kwds) {
    PyObject *action, *go, *size, *origin, *picks, *methods, *gathers, *roles, *token, *reject;
    static char *kwlist[] = {"n_states", "n_kinds", "n_origins", "start", "end", "action", "go", "size", "origin",
                             "picks", "methods", "gathers", "roles", "token", "reject", NULL};
    if (self->action != NULL) {
        PyErr_SetString(PyExc_TypeError, "a Loop is built once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iiiiiOOOOOO!O!OO!O!", kwlist, &self->n_states, &self->n_kinds,
                                     &self->n_origins, &self->start, &self->end, &action, &go, &size, &origin, &picks,
                                     &PyTuple_Type, &methods, &PyTuple_Type, &gathers, &roles, &PyType_Type, &token,
                                     &PyType_Type, &reject))
        return -1;
    if (self->n_states <= 0 || self->n_kinds <= 0 || self->n_origins <= 0 || self->start < 0 ||
        self->start >= self->n_states || self->end < 0 || self->end >= self->n_states ||
        !PyType_IsSubtype((PyTypeObject *)token, &PyTuple_Type)) {
        PyErr_SetString(PyExc_ValueError, "Loop: inconsistent table sizes or token type");
        return -1;
    }
    self->n_rules = (int)PyTuple_GET_SIZE(methods);
    if (PyTuple_GET_SIZE(gathers) != self->n_rules) {
        PyErr_SetString(PyExc_ValueError, "Loop: one gather per rule");
        return -1;
    }
    self->action = int_array(action, (Py_ssize_t)self->n_states * self->n_kinds, "action");
    if (self->action == NULL) return -1;
    self->go = int_array(go, (Py_ssize_t)self->n_states * self->n_origins, "go");
    if (self->go == NULL) return -1;
    self->size = int_array(size, self->n_rules, "size");
    if (self->size == NULL) return -1;
    self->origin = int_array(origin, self->n_rules, "origin");
    if (self->origin == NULL) return -1;
    self->roles = int_array(roles, -1, "roles");
    if (self->roles == NULL) return -1;
    self->n_roles = (int)PySequence_Size(roles);
    for (Py_ssize_t i = 0; i < (Py_ssize_t)self->n_states * self->n_kinds; i++) {
        int a = self->action[i];
        if (a > self->n_states || a < -self->n_rules) {
            PyErr_SetString(PyExc_ValueError, "Loop: an action out of range");
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < (Py_ssize_t)self->n_states * self->n_origins; i++) {
        if (self->go[i] < -1 || self->go[i] >= self->n_states) {
            PyErr_SetString(PyExc_ValueError, "Loop: a goto out of range");
            return -1;
        }
    }
    self->pick = PyMem_Calloc((size_t)self->n_rules + 1, sizeof(int *));
    self->n_pick = PyMem_Calloc((size_t)self->n_rules + 1, sizeof(int));
    if (self->pick == NULL || self->n_pick == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *fast = PySequence_Fast(picks, "picks");
    if (fast == NULL) return -1;
    if (PySequence_Fast_GET_SIZE(fast) != self->n_rules) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "Loop: one pick per rule");
        return -1;
    }
    for (int r = 0; r < self->n_rules; r++) {
        if (self->size[r] < 0 || self->origin[r] < 0 || self->origin[r] >= self->n_origins) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "Loop: a rule out of range");
            return -1;
        }
        PyObject *p = PySequence_Fast_GET_ITEM(fast, r);
        if (p == Py_None) {
            if (PyTuple_GET_ITEM(methods, r) == Py_None) {
                Py_DECREF(fast);
                PyErr_SetString(PyExc_ValueError, "Loop: a rule with no callback picks no child");
                return -1;
            }
            continue;
        }
        Py_ssize_t n = PySequence_Size(p);
        if (n < 0 || (self->pick[r] = int_array(p, n, "pick")) == NULL) {
            Py_DECREF(fast);
            return -1;
        }
        if (n > MAX_PICK) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "Loop: a rule keeps more than 16 children");
            return -1;
        }
        self->n_pick[r] = (int)n;
        if (PyTuple_GET_ITEM(methods, r) == Py_None && n != 1) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "Loop: a rule with no callback picks one child");
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (self->pick[r][i] < 0 || self->pick[r][i] >= self->size[r]) {
                Py_DECREF(fast);
                PyErr_SetString(PyExc_ValueError, "Loop: a pick out of range");
                return -1;
            }
        }
    }
    Py_DECREF(fast);
    Py_INCREF(methods);
    self->methods = methods;
    Py_INCREF(gathers);
    self->gathers = gathers;
    Py_INCREF(token);
    self->token = token;
    Py_INCREF(reject);
    self->reject = reject;
    return 0;
}

/* A growable pair of stacks: states, and the values above them (values[i] sits on states[i + 1]). */
typedef struct {
    int *states;
    PyObject **values;
    Py_ssize_t n_states, capacity;
} Stack;

static int stack_push(Stack *s, int state, PyObject *value) {
    if (s->n_states == s->capacity) {
        Py_ssize_t capacity = s->capacity * 2;
        int *states = PyMem_Realloc(s->states, sizeof(int) * (size_t)capacity);
        if (states == NULL) {
            Py_DECREF(value);
            PyErr_NoMemory();
            return -1;
        }
        s->states = states;
        PyObject **values = PyMem_Realloc(s->values, sizeof(PyObject *) * (size_t)capacity);
        if (values == NULL) {
            Py_DECREF(value);
            PyErr_NoMemory();
            return -1;
        }
        s->values = values;
        s->capacity = capacity;
    }
    s->values[s->n_states - 1] = value; /* the stack owns the reference */
    s->states[s->n_states++] = state;
    return 0;
}

static PyObject *make_token(Loop *self, PyObject *value, long line, Py_ssize_t column) {
    PyTypeObject *type = (PyTypeObject *)self->token;
    PyObject *tok = type->tp_alloc(type, 3);
    PyObject *l = PyLong_FromLong(line), *c = PyLong_FromSsize_t(column);
    if (tok == NULL || l == NULL || c == NULL) {
        Py_XDECREF(tok);
        Py_XDECREF(l);
        Py_XDECREF(c);
        Py_DECREF(value);
        return NULL;
    }
    PyTuple_SET_ITEM(tok, 0, value);
    PyTuple_SET_ITEM(tok, 1, l);
    PyTuple_SET_ITEM(tok, 2, c);
    return tok;
}

/* Reduce by rule r: the value its callback returns (a new reference), the children popped; NULL on error. */
static PyObject *reduce(Loop *self, Stack *s, int r) {
    int size = self->size[r];
    PyObject *method = PyTuple_GET_ITEM(self->methods, r), *gather = PyTuple_GET_ITEM(self->gathers, r);
    PyObject **children = s->values + (s->n_states - 1 - size);
    PyObject *value;
    if (method == Py_None) { /* a chain rule, or "(" expr ")": the one child kept stands for the rule */
        value = children[self->pick[r][0]];
        Py_INCREF(value);
        for (int i = 0; i < size; i++) Py_DECREF(children[i]);
        s->n_states -= size;
        return value;
    }
    if (self->pick[r] != NULL) {
        PyObject *args[MAX_PICK];
        int n = self->n_pick[r];
        for (int i = 0; i < n; i++) args[i] = children[self->pick[r][i]];
        value = PyObject_Vectorcall(method, args, (size_t)n, NULL);
    } else if (gather != Py_None) {
        PyObject *list = PyList_New(size);
        value = NULL;
        if (list != NULL) {
            for (int i = 0; i < size; i++) {
                Py_INCREF(children[i]);
                PyList_SET_ITEM(list, i, children[i]);
            }
            PyObject *kept = PyObject_CallOneArg(gather, list);
            Py_DECREF(list);
            PyObject *spread = kept == NULL ? NULL : PySequence_Tuple(kept);
            Py_XDECREF(kept);
            if (spread != NULL) {
                value = PyObject_Call(method, spread, NULL);
                Py_DECREF(spread);
            }
        }
    } else {
        value = PyObject_Vectorcall(method, children, (size_t)size, NULL);
    }
    for (int i = 0; i < size; i++) Py_DECREF(children[i]);
    s->n_states -= size;
    return value;
}

/* Loop.run(text, matches): what the start rule's callback returns; matches is the scanner's finditer(text). */
static PyObject *Loop_run(Loop *self, PyObject *const *args, Py_ssize_t nargs) {
    if (self->action == NULL) {
        PyErr_SetString(PyExc_TypeError, "Loop was not initialized");
        return NULL;
    }
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "run(text, matches)");
        return NULL;
    }
    PyObject *text = args[0], *matches = args[1], *result = NULL, *tok = NULL;
    if (PyUnicode_READY(text) < 0) return NULL;
    int text_kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    long line = 1;
    Py_ssize_t line_start = 0, depth = 0;
    Stack s = {PyMem_Malloc(sizeof(int) * 64), PyMem_Malloc(sizeof(PyObject *) * 64), 1, 64};
    if (s.states == NULL || s.values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    s.states[0] = self->start;
    for (;;) {
        int kind = 0; /* the end of the text */
        for (;;) {    /* the next token */
            PyObject *m = PyIter_Next(matches);
            if (m == NULL) {
                if (PyErr_Occurred()) goto done;
                break;
            }
            PyObject *last = lastindex_of(m);
            if (last == NULL) {
                Py_DECREF(m);
                goto done;
            }
            if (last == Py_None) { /* the end of the text (\Z): lark's $END */
                Py_DECREF(last);
                Py_DECREF(m);
                break;
            }
            kind = (int)PyLong_AsLong(last);
            int role = kind >= 0 && kind < self->n_roles ? self->roles[kind] : -1;
            if (role < 0) {
                Py_DECREF(last);
                Py_DECREF(m);
                if (!PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "group %d is no terminal's", kind);
                goto done;
            }
            if (role & STOP) { /* a character no terminal matches */
                Py_DECREF(last);
                Py_DECREF(m);
                PyErr_SetNone(self->reject);
                goto done;
            }
            PyObject *stack[2] = {m, last};
            PyObject *span = PyObject_Vectorcall(span_descr, stack, 2, NULL);
            Py_DECREF(last);
            Py_DECREF(m);
            if (span == NULL) goto done;
            Py_ssize_t start = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 0));
            Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 1));
            Py_DECREF(span);
            if (PyErr_Occurred()) goto done;
            if (role & KEEP) {
                PyObject *value = PyUnicode_Substring(text, start, end);
                if (value == NULL || (tok = make_token(self, value, line, start - line_start + 1)) == NULL) goto done;
            }
            if (role == KEEP) break;
            if (role & COUNT) {
                for (Py_ssize_t i = start; i < end; i++) {
                    if (PyUnicode_READ(text_kind, data, i) == '\n') {
                        line += 1;
                        line_start = i + 1;
                    }
                }
            }
            if ((role & IGNORE) || ((role & NEWLINE) && depth && !(role & (OPEN | CLOSE)))) {
                Py_CLEAR(tok);
                kind = 0;
                continue;
            }
            if (role & OPEN)
                depth += 1;
            else if ((role & CLOSE) && depth > 0)
                depth -= 1;
            break;
        }
        int state = s.states[s.n_states - 1];
        int a = kind < self->n_kinds ? self->action[state * self->n_kinds + kind] : 0;
        for (;;) { /* reduce until the token can be shifted */
            if (a > 0) {
                if (tok == NULL) {
                    Py_INCREF(Py_None);
                    tok = Py_None;
                }
                int pushed = stack_push(&s, a - 1, tok);
                tok = NULL;
                if (pushed < 0) goto done;
                break;
            }
            if (a == 0) {
                PyErr_SetNone(self->reject);
                goto done;
            }
            int r = -a - 1;
            if (self->size[r] >= s.n_states) { /* only a table that is not lark's could pop below the start */
                PyErr_SetString(PyExc_ValueError, "Loop: a reduction larger than the stack");
                goto done;
            }
            PyObject *value = reduce(self, &s, r);
            if (value == NULL) goto done;
            state = self->go[s.states[s.n_states - 1] * self->n_origins + self->origin[r]];
            if (state < 0) {
                Py_DECREF(value);
                PyErr_SetNone(self->reject);
                goto done;
            }
            if (state == self->end && kind == 0) {
                result = value;
                goto done;
            }
            if (stack_push(&s, state, value) < 0) goto done;
            a = kind < self->n_kinds ? self->action[state * self->n_kinds + kind] : 0;
        }
    }
done:
    Py_XDECREF(tok);
    if (s.values != NULL) {
        for (Py_ssize_t i = 0; i + 1 < s.n_states; i++) Py_DECREF(s.values[i]);
    }
    PyMem_Free(s.states);
    PyMem_Free(s.values);
    return result;
}

static PyMethodDef Loop_methods[] = {
    {"run", (PyCFunction)(void (*)(void))Loop_run, METH_FASTCALL,
     "run(text, matches): the start rule's value; raises the Loop's reject where Driver.parse would."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LoopType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "autodiff_cli._speedups.Loop",
    .tp_basicsize = sizeof(Loop),
    .tp_dealloc = (destructor)Loop_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "lark's parse table as integer arrays, run by lalr.Driver (see lalr.py).",
    .tp_methods = Loop_methods,
    .tp_init = (initproc)Loop_init,
    .tp_new = PyType_GenericNew,
};

int nodes_add(PyObject *module); /* _nodes.c: engine.Value's nodes */

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "The compiled core (optional): lalr.Driver's loop and engine.Value's nodes in C.", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    if (PyType_Ready(&LoopType) < 0) return NULL;
    PyObject *re = PyImport_ImportModule("re");
    if (re == NULL) return NULL;
    match_type = PyObject_GetAttrString(re, "Match");
    Py_DECREF(re);
    if (match_type == NULL) return NULL;
    lastindex_descr = PyObject_GetAttrString(match_type, "lastindex");
    span_descr = PyObject_GetAttrString(match_type, "span");
    if (lastindex_descr == NULL || span_descr == NULL) return NULL;
    if (!PyType_Check(match_type) || Py_TYPE(lastindex_descr)->tp_descr_get == NULL || !PyCallable_Check(span_descr)) {
        PyErr_SetString(PyExc_ImportError, "re.Match is not what _speedups expects");
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&LoopType);
    if (PyModule_AddObject(m, "Loop", (PyObject *)&LoopType) < 0) {
        Py_DECREF(&LoopType);
        Py_DECREF(m);
        return NULL;
    }
    if (nodes_add(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
