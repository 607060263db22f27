package encodings

import (
	"math"
	"testing"
)

// The expectations below follow ECMA-262 Number::toString(x) for radix 10,
// worked by hand: find the shortest digits s (k of them) and n with
// s × 10^(n−k) = x, then pick the layout by k and n. They are not outputs
// of this package.
func TestAppendJSNumber(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"}, // −0: step 2 of Number::toString
		{1, "1"},
		{-1, "-1"},
		{1.5, "1.5"}, // s=15, k=2, n=1: 0 < n ≤ 21
		{0.1, "0.1"}, // s=1, k=1, n=0: −6 < n ≤ 0
		{100, "100"}, // s=1, k=1, n=3: k ≤ n ≤ 21
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"}, // n=22 > 21: exponent form, k=1
		{1.5e21, "1.5e+21"},
		{123456789012345680000, "123456789012345680000"}, // s=12345678901234568, k=17, n=21
		{1e-6, "0.000001"}, // n=−5
		{1e-7, "1e-7"},     // n=−6: exponent form
		{1.5e-7, "1.5e-7"},
		{0.000001234, "0.000001234"},
		{1.23e-18, "1.23e-18"},
		{5e-324, "5e-324"},                             // smallest subnormal: s=5
		{math.MaxFloat64, "1.7976931348623157e+308"},   // s has 17 digits
		{9007199254740993, "9007199254740992"},         // 2^53+1 rounds to 2^53
		{12345678901234567890, "12345678901234567000"}, // nearest double 12345678901234567168, s=12345678901234567
		{0.30000000000000004, "0.30000000000000004"},   // 0.1+0.2
		{-1.5e300, "-1.5e+300"},
		{4.35, "4.35"},
		{123.456, "123.456"},
		{math.Inf(1), "null"}, // JSON.stringify writes non-finite numbers as null
		{math.Inf(-1), "null"},
		{math.NaN(), "null"},
	} {
		if got := string(appendJSNumber(nil, tc.x)); got != tc.want {
			t.Errorf("appendJSNumber(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}
