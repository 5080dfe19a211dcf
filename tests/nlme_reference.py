"""Three small gappy datasets and R's nlme results on them (shared by test_gls and test_classical).

The numbers are from ``nlme::gls(y ~ condition [+ day], correlation = corAR1(form = ~ day),
method = "REML")`` in R 4.2.2 with nlme 3.1-162 (Debian packages), printed to 12 digits.
"""

D1 = {  # ABAB, 7-day periods, days 3, 10, 11, 20, 26 missing
    "day": [1, 2, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 24, 25, 27, 28],
    "cond": "AAAAAABBBBBAAAAAABBBBBB",
    "y": [5.3, 4.3, 6.0, 3.8, 3.3, 4.2, 2.8, 3.2, 4.3, 4.0, 4.7, 6.0, 4.8, 5.2, 4.3, 5.4, 4.9, 2.9,
          4.2, 3.7, 3.2, 3.7, 3.9],
}
D2 = {  # ABCBCA, 6-day periods, first 2 days of each period excluded (washout), day 16 missing
    "day": [3, 4, 5, 6, 9, 10, 11, 12, 15, 17, 18, 21, 22, 23, 24, 27, 28, 29, 30, 33, 34, 35, 36],
    "cond": "AAAABBBBCCCBBBBCCCCAAAA",
    "y": [3.0, 2.7, 2.7, 2.9, 3.4, 6.6, 5.2, 4.3, 2.0, 3.2, 2.9, 4.7, 5.9, 5.5, 4.6, 4.9, 3.6, 3.3,
          4.1, 4.6, 4.6, 4.3, 4.7],
}
D3 = {  # ABBAABBA, 5-day periods, 9 days missing, strong autocorrelation
    "day": [1, 3, 4, 5, 6, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 24, 25, 26, 27, 28, 29, 30, 32,
            33, 34, 35, 36, 37, 39, 40],
    "cond": "AAAABBBBBBAAAAAAAABBBBBBBBBAAAA",
    "y": [11.1, 10.9, 10.3, 11.0, 11.5, 9.6, 10.0, 10.8, 10.4, 10.6, 10.1, 10.5, 9.8, 9.5, 9.2, 8.3,
          9.1, 9.7, 11.0, 11.5, 11.3, 10.8, 10.7, 8.2, 7.6, 7.3, 8.4, 7.2, 7.5, 9.0, 9.9],
}

# nlme::gls(..., corAR1(form = ~ day), method = "REML") — R 4.2.2, nlme 3.1-162
R_REF = {
    "D1": {  # y ~ condition
        "beta": [4.88523071448, -1.24355010274], "se": [0.264474666951, 0.353487837198],
        "phi": 0.311033001405, "sigma": 0.749689420723, "loglik": -24.8841429543, "df": 21,
        "ci_B": (-1.97866830291, -0.508431902556), "p_B": 2.04396154892e-03,
    },
    "D2": {  # y ~ condition + day (negative phi with gaps of 1, 2 and 3 days)
        "beta": [2.5742140285962, 1.5798852501695, -0.4595765706714, 0.0565969737236],
        "se": [0.3342746175288, 0.3137811112327, 0.3331747194692, 0.0129018551044],
        "phi": -0.176766785948, "sigma": 0.715841961837, "loglik": -27.8076330239, "df": 19,
        "ci_B": (0.9231338365405, 2.2366366637984), "p_B": 7.35286830699e-05,
        # relevel(condition, "C"): B - C
        "B_minus_C": 2.0394618208183815, "se_B_minus_C": 0.3422102790377820,
        "ci_B_minus_C": (1.3232074751265244, 2.7557161665102385),
    },
    "D3": {  # y ~ condition
        "beta": [9.707561559636, 0.897526545034], "se": [0.892842608084, 0.360287780908],
        "phi": 0.903714124079, "sigma": 1.52435130001, "loglik": -32.114606457, "df": 29,
        "ci_B": (0.160655295824, 1.63439779424), "p_B": 1.87041483079e-02,
    },
}
