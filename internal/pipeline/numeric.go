package pipeline

import "math"

// The float arithmetic here reproduces, operation for operation, what the
// reference (pandas on numpy) does, because the last bit decides rounding
// ties. Explicit float64() conversions keep the compiler from fusing a
// multiply and an add into one FMA instruction on architectures that have
// it, which would change results.

// pow10f holds exact powers of ten.
var pow10f = [...]float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// round is numpy's np.round(x, d): rint(x * 10^d) / 10^d, rounding half to
// even on the scaled float64 value.
func round(x float64, d int) float64 {
	p := pow10f[d]
	return math.RoundToEven(float64(x*p)) / p
}

// kahan is pandas' compensated sum (groupby sum/mean, GH#53606 included).
type kahan struct{ sum, comp float64 }

func (k *kahan) add(v float64) {
	y := v - k.comp
	t := k.sum + y
	k.comp = t - k.sum - y
	if k.comp != k.comp { // v was infinite: keep the infinity, not NaN
		k.comp = 0
	}
	k.sum = t
}

// pairwiseSum is numpy's np.add.reduce on a contiguous float64 array: blocks
// of up to 128 values summed with eight accumulators, split in halves above.
func pairwiseSum(a []float64) float64 {
	return 0 + pairwise(a)
}

func pairwise(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range a {
			res += v
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := 0; j < 8; j++ {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwise(a[:n2]) + pairwise(a[n2:])
	}
}

// seriesMean is pandas' Series.mean (nanops.nanmean without bottleneck):
// numpy's pairwise sum divided by the count. NaN for no values.
func seriesMean(a []float64) float64 {
	if len(a) == 0 {
		return math.NaN()
	}
	return pairwiseSum(a) / float64(len(a))
}

// seriesStd is pandas' Series.std (nanops.nanvar, ddof 1): the two-pass
// algorithm, mean first, then the sum of squared deviations.
func seriesStd(a []float64) float64 {
	n := len(a)
	if n < 2 {
		return math.NaN()
	}
	avg := pairwiseSum(a) / float64(n)
	sq := make([]float64, n)
	for i, v := range a {
		d := avg - v
		sq[i] = float64(d * d)
	}
	return math.Sqrt(pairwiseSum(sq) / float64(n-1))
}

// welford is pandas' groupby var/std accumulator (group_var).
type welford struct {
	n        int64
	mean, m2 float64
}

func (w *welford) add(v float64) {
	w.n++
	old := w.mean
	w.mean += (v - old) / float64(w.n)
	w.m2 += float64((v - w.mean) * (v - old))
}

// std returns the sample standard deviation, NaN for fewer than 2 values.
func (w *welford) std() float64 {
	if w.n <= 1 {
		return math.NaN()
	}
	return math.Sqrt(w.m2 / float64(w.n-1))
}

// rollingMean is pandas' Series.rolling(window, min_periods=1).mean():
// a compensated running sum with separate compensations for the values that
// enter and leave the window, plus pandas' guards for windows of equal
// values and for sign.
func rollingMean(vals []float64, window int) []float64 {
	out := make([]float64, len(vals))
	var (
		sum, compAdd, compRemove float64
		nobs, negCt              int
		sameRun                  int
		prev                     float64
	)
	add := func(v float64) {
		if v != v {
			return
		}
		nobs++
		y := v - compAdd
		t := sum + y
		compAdd = t - sum - y
		sum = t
		if math.Signbit(v) {
			negCt++
		}
		if v == prev {
			sameRun++
		} else {
			sameRun = 1
		}
		prev = v
	}
	remove := func(v float64) {
		if v != v {
			return
		}
		nobs--
		y := -v - compRemove
		t := sum + y
		compRemove = t - sum - y
		sum = t
		if math.Signbit(v) {
			negCt--
		}
	}
	for i := range vals {
		s, e := max(0, i+1-window), i+1
		if i == 0 || s >= i { // pandas re-initialises when windows do not overlap
			sum, compAdd, compRemove, nobs, negCt, sameRun = 0, 0, 0, 0, 0, 0
			prev = vals[s]
			for j := s; j < e; j++ {
				add(vals[j])
			}
		} else {
			for j := max(0, i-window); j < s; j++ {
				remove(vals[j])
			}
			add(vals[e-1])
		}
		r := math.NaN()
		if nobs > 0 {
			r = sum / float64(nobs)
			switch {
			case sameRun >= nobs:
				r = prev
			case negCt == 0 && r < 0:
				r = 0
			case negCt == nobs && r > 0:
				r = 0
			}
		}
		out[i] = r
	}
	return out
}

// pctChange is pandas' Series.pct_change(): cur / prev - 1, in exactly that
// form; NaN for the first value.
func pctChange(vals []float64) []float64 {
	out := make([]float64, len(vals))
	for i := range vals {
		if i == 0 {
			out[i] = math.NaN()
			continue
		}
		out[i] = vals[i]/vals[i-1] - 1
	}
	return out
}

// exactSum is an exact float64 sum (Shewchuk's partials, as Python's
// math.fsum): the value is the correctly rounded sum whatever the order
// of the additions, so sums of parts can be merged deterministically.
type exactSum struct{ partials []float64 }

func (e *exactSum) add(x float64) {
	i := 0
	for _, y := range e.partials {
		if math.Abs(x) < math.Abs(y) {
			x, y = y, x
		}
		hi := x + y
		lo := y - (hi - x)
		if lo != 0 {
			e.partials[i] = lo
			i++
		}
		x = hi
	}
	e.partials = append(e.partials[:i], x)
}

func (e *exactSum) merge(o *exactSum) {
	for _, p := range o.partials {
		e.add(p)
	}
}

// value rounds the exact sum to float64, half to even across partials
// (the final step of CPython's fsum). Infinities and overflow are not
// handled: amounts are finite and far from the float64 limits.
func (e *exactSum) value() float64 {
	p := e.partials
	n := len(p)
	if n == 0 {
		return 0
	}
	n--
	hi, lo := p[n], 0.0
	for n > 0 {
		x := hi
		n--
		y := p[n]
		hi = x + y
		lo = y - (hi - x)
		if lo != 0 {
			break
		}
	}
	if n > 0 && ((lo < 0 && p[n-1] < 0) || (lo > 0 && p[n-1] > 0)) {
		y := lo * 2
		x := hi + y
		if y == x-hi {
			hi = x
		}
	}
	return hi
}
