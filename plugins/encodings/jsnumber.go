package encodings

import (
	"math"
	"strconv"
)

// appendJSNumber appends x as JavaScript's JSON.stringify writes a number:
// Number::toString (ECMA-262, Number::toString with radix 10) for finite
// values, and null for NaN and the infinities.
//
// Number::toString takes the shortest digit string s (k digits) and
// exponent n such that s × 10^(n−k) is x, and writes:
//
//   - k ≤ n ≤ 21:  the digits, then n−k zeros        (1e20 → 100000000000000000000)
//   - 0 < n ≤ 21:  the digits with a point after n    (1.5)
//   - −6 < n ≤ 0:  "0.", −n zeros, the digits         (0.000001)
//   - otherwise:   d[.ddd]e±(n−1)                     (1e+21, 1.5e-7)
//
// and −0 as "0". strconv's shortest formatting gives the same digits.
func appendJSNumber(dst []byte, x float64) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(dst, "null"...)
	}
	if x == 0 {
		return append(dst, '0')
	}
	if x < 0 {
		dst = append(dst, '-')
		x = -x
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], x, 'e', -1, 64) // d.ddde±xx
	var digits [24]byte
	k := 0
	i := 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[k] = e[i]
			k++
		}
	}
	exp, _ := strconv.Atoi(string(e[i+1:]))
	n := exp + 1
	d := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}
