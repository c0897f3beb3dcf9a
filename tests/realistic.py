"""Programs people write, with bindings: the corpus the DAG pictures are checked on (issue 22).

Each entry is (name, program, bindings). They are of the kinds the issue
names: losses, neural-net cells, pricing formulas, geometry and physics.
"""

from __future__ import annotations

PROGRAMS: list[tuple[str, str, dict[str, float]]] = [
    (
        "logistic",
        "z = w1*x1 + w2*x2 + b\np = sigmoid(z)\n-(y*log(p) + (1 - y)*log(1 - p))",
        {"w1": 0.5, "w2": -0.25, "b": 0.1, "x1": 1.5, "x2": 2, "y": 1},
    ),
    (
        "mlp",
        "h1 = tanh(w11*x1 + w12*x2 + b1)\nh2 = tanh(w21*x1 + w22*x2 + b2)\ny = v1*h1 + v2*h2 + c\n(y - t)^2",
        {
            "w11": 0.1,
            "w12": -0.2,
            "b1": 0.05,
            "w21": 0.3,
            "w22": 0.4,
            "b2": -0.1,
            "v1": 0.7,
            "v2": -0.5,
            "c": 0.2,
            "x1": 1,
            "x2": 2,
            "t": 0.5,
        },
    ),
    (
        "black_scholes",
        "d1 = (log(S/K) + (r + sigma^2/2)*T) / (sigma*sqrt(T))\nd2 = d1 - sigma*sqrt(T)\n"
        "N1 = (1 + erf(d1/sqrt(2)))/2\nN2 = (1 + erf(d2/sqrt(2)))/2\nS*N1 - K*exp(-r*T)*N2",
        {"S": 100, "K": 95, "r": 0.05, "sigma": 0.2, "T": 1},
    ),
    (
        "gaussian_ll",
        "s2 = sigma^2\nr = x - mu\n-0.5*log(2*3.141592653589793*s2) - r^2/(2*s2)",
        {"x": 1.2, "mu": 0.5, "sigma": 0.8},
    ),
    (
        "softmax_ce",
        "m = max(max(z1, z2), z3)\ne1 = exp(z1 - m)\ne2 = exp(z2 - m)\ne3 = exp(z3 - m)\n"
        "s = e1 + e2 + e3\n-(y1*log(e1/s) + y2*log(e2/s) + y3*log(e3/s))",
        {"z1": 1, "z2": 2, "z3": 0.5, "y1": 0, "y2": 1, "y3": 0},
    ),
    (
        "lstm",
        "i = sigmoid(wi*x + ui*h + bi)\nf = sigmoid(wf*x + uf*h + bf)\no = sigmoid(wo*x + uo*h + bo)\n"
        "g = tanh(wg*x + ug*h + bg)\nc2 = f*c + i*g\no*tanh(c2)",
        {
            "x": 0.5,
            "h": -0.3,
            "c": 0.2,
            "wi": 0.1,
            "ui": 0.2,
            "bi": 0,
            "wf": 0.3,
            "uf": -0.1,
            "bf": 1,
            "wo": 0.5,
            "uo": 0.4,
            "bo": 0,
            "wg": -0.2,
            "ug": 0.6,
            "bg": 0.1,
        },
    ),
    (
        "gru",
        "z = sigmoid(wz*x + uz*h + bz)\nr = sigmoid(wr*x + ur*h + br)\nn = tanh(wn*x + un*(r*h) + bn)\n(1 - z)*n + z*h",
        {"x": 0.5, "h": -0.3, "wz": 0.1, "uz": 0.2, "bz": 0, "wr": 0.3, "ur": -0.1, "br": 0.5, "wn": -0.2, "un": 0.6, "bn": 0.1},
    ),
    (
        "haversine",
        "dlat = lat2 - lat1\ndlon = lon2 - lon1\na = sin(dlat/2)^2 + cos(lat1)*cos(lat2)*sin(dlon/2)^2\n2*R*asin(sqrt(a))",
        {"lat1": 0.8, "lon1": -0.1, "lat2": 0.85, "lon2": 0.04, "R": 6371},
    ),
    (
        "projectile",
        "vx = v*cos(theta)\nvy = v*sin(theta)\nt = (vy + sqrt(vy^2 + 2*g*h))/g\nvx*t",
        {"v": 20, "theta": 0.7, "g": 9.81, "h": 1.5},
    ),
    (
        "coulomb",
        "dx = x2 - x1\ndy = y2 - y1\nr2 = dx^2 + dy^2\nk*q1*q2/r2",
        {"k": 8.99e9, "q1": 1e-6, "q2": -2e-6, "x1": 0, "y1": 0, "x2": 0.3, "y2": 0.4},
    ),
    (
        "rms_norm",
        "ms = (x1^2 + x2^2 + x3^2 + x4^2)/4\nr = sqrt(ms + 1e-6)\ny1 = g1*x1/r\ny2 = g2*x2/r\ny1 + y2",
        {"x1": 1, "x2": -2, "x3": 0.5, "x4": 3, "g1": 1.1, "g2": 0.9},
    ),
    (
        "attention",
        "s1 = (q1*k11 + q2*k12)/sqrt(2)\ns2 = (q1*k21 + q2*k22)/sqrt(2)\nm = max(s1, s2)\n"
        "a1 = exp(s1 - m)\na2 = exp(s2 - m)\n(a1*v1 + a2*v2)/(a1 + a2)",
        {"q1": 0.5, "q2": -1, "k11": 1, "k12": 0.2, "k21": -0.3, "k22": 0.8, "v1": 2, "v2": -1},
    ),
    (
        "pendulum",
        "w0 = sqrt(g/L)\nT0 = 2*pi/w0\nT0*(1 + theta0^2/16 + 11*theta0^4/3072)",
        {"g": 9.81, "L": 1.2, "theta0": 0.3},
    ),
    (
        "heron",
        "s = (a + b + c)/2\nsqrt(s*(s - a)*(s - b)*(s - c))",
        {"a": 3, "b": 4, "c": 5},
    ),
    (
        "compound_interest",
        "A = P*(1 + r/n)^(n*t)\nA - P",
        {"P": 1000, "r": 0.05, "n": 12, "t": 10},
    ),
    (
        "bond_price",
        "c = F*rate\nd = 1 + y\nc/d + c/d^2 + c/d^3 + c/d^4 + (c + F)/d^5",
        {"F": 100, "rate": 0.05, "y": 0.04},
    ),
    (
        "mlp_3_2_1",
        "h1 = tanh(w11*x1 + w12*x2 + w13*x3 + b1)\nh2 = tanh(w21*x1 + w22*x2 + w23*x3 + b2)\n"
        "y = sigmoid(v1*h1 + v2*h2 + c)\n-(t*log(y) + (1 - t)*log(1 - y))",
        {
            "w11": 0.2,
            "w12": -0.4,
            "w13": 0.1,
            "b1": 0,
            "w21": -0.3,
            "w22": 0.5,
            "w23": 0.7,
            "b2": 0.1,
            "v1": 1.2,
            "v2": -0.8,
            "c": 0.05,
            "x1": 1,
            "x2": 0.5,
            "x3": -1.5,
            "t": 1,
        },
    ),
]
