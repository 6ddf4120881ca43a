package pipeline

import (
	"errors"
	"math"
	"math/bits"
	"strconv"
)

// Null markers inside the typed columns. None of them can be produced by
// parsing a value: dates are within years 1..9999, codes count distinct
// ids and parsed amounts are never NaN.
const (
	nullDate int32  = math.MinInt32
	nullCode uint32 = math.MaxUint32
)

// nullAmount is the NaN stored for a null amount (one fixed bit pattern, so
// nulls compare equal as keys).
var nullAmount = math.Float64frombits(0x7FF8000000000001)

func isNullAmount(v float64) bool { return v != v }

// isNA reports whether a field is one of pandas' default NA tokens. w is
// the field's first eight bytes, zero padded.
func isNA(n int, w uint64) bool {
	switch n {
	case 0:
		return true
	case 2:
		return w == naNA
	case 3:
		return w == naNSlashA || w == naNaN || w == naNslasha || w == nanan || w == naHashNA
	case 4:
		return w == naHashNSlashA || w == naMinusNaN || w == naMinusnan || w == naAngleNA || w == naNULL || w == naNone || w == nanull
	case 6:
		return w == na1IND
	case 7:
		return w == naMinus1IND || w == na1QNAN
	case 8:
		return w == naHashNANA || w == naMinus1QNAN
	}
	return false
}

var (
	naNA          = word([]byte("NA"))
	naNSlashA     = word([]byte("N/A"))
	naNaN         = word([]byte("NaN"))
	naNslasha     = word([]byte("n/a"))
	nanan         = word([]byte("nan"))
	naHashNA      = word([]byte("#NA"))
	naHashNSlashA = word([]byte("#N/A"))
	naMinusNaN    = word([]byte("-NaN"))
	naMinusnan    = word([]byte("-nan"))
	naAngleNA     = word([]byte("<NA>"))
	naNULL        = word([]byte("NULL"))
	naNone        = word([]byte("None"))
	nanull        = word([]byte("null"))
	na1IND        = word([]byte("1.#IND"))
	naMinus1IND   = word([]byte("-1.#IND"))
	na1QNAN       = word([]byte("1.#QNAN"))
	naHashNANA    = word([]byte("#N/A N/A"))
	naMinus1QNAN  = word([]byte("-1.#QNAN"))
)

// NATokens lists the field values read as null (pandas' defaults).
var NATokens = []string{"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
	"1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}

// parseDate reads a strict YYYY-MM-DD date (years 0001-9999) as days since
// 1970-01-01.
func parseDate(b []byte) (int32, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	var v [8]int
	for i, p := range [8]int{0, 1, 2, 3, 5, 6, 8, 9} {
		c := b[p] - '0'
		if c > 9 {
			return 0, false
		}
		v[i] = int(c)
	}
	y := v[0]*1000 + v[1]*100 + v[2]*10 + v[3]
	m := v[4]*10 + v[5]
	d := v[6]*10 + v[7]
	if y == 0 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil converts a proleptic Gregorian date (y >= 1) to days since
// 1970-01-01 (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int32 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// Amounts are parsed to the float64 nearest to their decimal value, as
// pandas' parser does: the reference compares and sums float64 values, so
// equal floats are equal amounts and sums follow its float arithmetic.
// When the decimal digits form an integer m < 2^53 and the scale is a power
// of ten up to 10^22, m / 10^k (or m * 10^k) is one correctly rounded
// operation on exact operands (Clinger's fast path); anything else goes to
// strconv.ParseFloat.

// amountFast parses the common amount shape, up to eight bytes of digits
// with at most one '.', from its zero-padded first word w, eight digits at
// a time with SWAR arithmetic. ok is false for anything else (signs,
// spaces, exponents, ...), which parseAmount then handles.
func amountFast(w uint64, n int) (float64, bool) {
	v, _, ok := amountFastCents(w, n)
	return v, ok
}

// amountFastCents is amountFast that also returns the amount in cents
// when it has at most two decimals (-1 otherwise): then the float64 is
// x / 10^frac for the digits x, and toCents of it is exactly x *
// 10^(2-frac), so the input profile needs no float round trip.
func amountFastCents(w uint64, n int) (float64, int64, bool) {
	if n == 0 || n > 8 {
		return 0, -1, false
	}
	valid := uint64(1)<<(8*uint(n)) - 1
	if n == 8 {
		valid = ^uint64(0)
	}
	frac := 0
	if dots := byteMask(w, 0x2E2E2E2E2E2E2E2E) & valid; dots != 0 {
		if dots&(dots-1) != 0 {
			return 0, -1, false
		}
		d := uint(bits.TrailingZeros64(dots) >> 3)
		low := uint64(1)<<(8*d) - 1
		w = w&low | (w>>8)&^low // drop the dot
		n--
		frac = n - int(d)
		if n == 0 {
			return 0, -1, false
		}
		valid >>= 8
	}
	// Every byte left must be a digit.
	if ((w+0x4646464646464646)|(w-0x3030303030303030)|w)&0x8080808080808080&valid != 0 {
		return 0, -1, false
	}
	x := (w - 0x3030303030303030) & valid
	x <<= 8 * uint(8-n) // right-align: leading zero digits
	x = (x*10 + x>>8) & 0x00FF00FF00FF00FF
	x = (x*100 + x>>16) & 0x0000FFFF0000FFFF
	x = (x*10000 + x>>32) & 0xFFFFFFFF
	cents := int64(-1)
	if frac <= 2 {
		cents = int64(x) * [3]int64{100, 10, 1}[frac]
	}
	return float64(x) / pow10f[frac], cents, true
}

type amountKind uint8

const (
	amountOK    amountKind = iota
	amountBad              // not a number
	amountRange            // a number too large for float64
)

// parseAmount reads [spaces][sign]digits[.digits][(e|E)[sign]digits][spaces]
// (at least one mantissa digit).
func parseAmount(b []byte) (float64, amountKind) {
	i, n := 0, len(b)
	if n > 0 && (isSpace(b[0]) || isSpace(b[n-1])) {
		for i < n && isSpace(b[i]) {
			i++
		}
		for n > i && isSpace(b[n-1]) {
			n--
		}
	}
	text := b[i:n]
	neg := false
	if i < n && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	// Up to 19 significant digits go into m (leading zeros are not
	// significant); more make the number "long".
	var m uint64
	sig, long := 0, false
	start := i
	for ; i < n; i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		if sig < 19 {
			m = m*10 + uint64(d)
			if m != 0 {
				sig++
			}
		} else {
			long = true
		}
	}
	digits, frac := i-start, 0
	if i < n && b[i] == '.' {
		i++
		fs := i
		for ; i < n; i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			if sig < 19 {
				m = m*10 + uint64(d)
				if m != 0 {
					sig++
				}
			} else {
				long = true
			}
		}
		frac = i - fs
		digits += frac
	}
	if digits == 0 {
		return 0, amountBad
	}
	exp := 0
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < n && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		es := i
		for ; i < n && b[i]-'0' <= 9; i++ {
			if exp < 1_000_000 {
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if i == es {
			return 0, amountBad
		}
		if eneg {
			exp = -exp
		}
	}
	if i != n {
		return 0, amountBad
	}
	var f float64
	e10 := exp - frac
	switch {
	case !long && m < 1<<53 && e10 >= 0 && e10 <= 22:
		f = float64(m) * pow10f[e10]
	case !long && m < 1<<53 && e10 < 0 && e10 >= -22:
		f = float64(m) / pow10f[-e10]
	default:
		return parseFloatText(text)
	}
	if neg {
		f = -f
	}
	return f, amountOK
}

func parseFloatText(text []byte) (float64, amountKind) {
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil && !(errors.Is(err, strconv.ErrRange) && !math.IsInf(f, 0)) || math.IsInf(f, 0) {
		return 0, amountRange
	}
	return f, amountOK
}
