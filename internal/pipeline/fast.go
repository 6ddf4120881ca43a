package pipeline

import (
	"bytes"
	"math/bits"
)

// The fast path. Most inputs have exactly the columns
// date,product_id,amount,customer_id in that order, no quotes, ASCII ids
// and amounts such as 611.80. For such a chunk, parseFast walks each
// record field by field: one eight-byte load per field finds the field's
// end (the lowest separator bit of a SWAR mask), the date is the last
// date seen or parsed from its two words, the amount is converted eight
// digits at a time, the product's code is one probe of the dictionary and
// a short customer id is its own key. There is no per-byte loop and no
// call per row.
//
// Whatever the fast path does not recognise in a record (a field longer
// than a word, an empty or NA field, a sign, an exponent, a space, a
// non-ASCII byte, a bad date, a field too many or too few, the last bytes
// of the chunk) sends that one record to the general path (parsePlain and
// row), which gives every result and every error. For the records it
// takes, the fast path computes exactly what the general path would: the
// same date, the same float64 and cents, the same dictionary codes and
// hashes (fast_test.go compares both on tricky inputs).

// fastMargin bounds how far past a record's start the fast path reads:
// the customer id starts at most 11+9+9 bytes in (date, product and
// amount of at most 10, 8 and 8 bytes, each with its comma) and one word
// is loaded there, so every byte it reads, and the newline it finds, lie
// below n. Records starting later in the chunk take the general path.
const fastMargin = 40

// fastLayout reports whether the header is exactly the four columns in
// the standard order.
func (l *layout) fastLayout() bool {
	return l.nfields == 4 && l.col == [4]int{colDate, colProduct, colAmount, colCustomer}
}

const (
	hi8  = 0x8080808080808080
	ones = 0x0101010101010101
)

// dateWords parses a date from its first eight bytes dw and the next
// three dt (YYYY-MM-DD then a comma, dt zero padded), as parseDate does.
func dateWords(dw, dt uint64) (int32, bool) {
	if dw>>32&0xFF != '-' || dw>>56 != '-' || dt>>16 != ',' {
		return 0, false
	}
	a := dw&0x00FFFF00FFFFFFFF | 0x3000003000000000 // dashes as '0'
	b := dt&0xFFFF | 0x3030303030300000
	if ((a+0x4646464646464646)|(a-0x3030303030303030)|a|(b+0x4646464646464646)|(b-0x3030303030303030)|b)&hi8 != 0 {
		return 0, false
	}
	a -= 0x3030303030303030
	b -= 0x3030303030303030
	y := int(a&0xFF)*1000 + int(a>>8&0xFF)*100 + int(a>>16&0xFF)*10 + int(a>>24&0xFF)
	m := int(a>>40&0xFF)*10 + int(a>>48&0xFF)
	d := int(b&0xFF)*10 + int(b>>8&0xFF)
	if y == 0 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// parseFast parses buf[off:n] (no quotes, p.lay.fastLayout()) like
// parsePlain, taking the fast path for every record it can. It returns
// false when the chunk must stop.
func (p *parser) parseFast(buf []byte, off, n int, line int64, res *chunkResult) bool {
	// The last accepted row's date text and value. The cache is per
	// chunk, so that the chunk's date range sees every date.
	lastW, lastT := uint64(0), uint64(1)<<63 // no date text has these
	var last int32
	a := p.agg
	var ca *chunkAgg
	if a != nil {
		ca = &res.agg
	}
	prods := p.prods
	seg := &res.seg
	rs := off
	for ; rs+fastMargin <= n; line++ {
		// Date.
		dw := load64(buf, rs)
		dt := load64(buf, rs+8) & 0xFFFFFF
		date := last
		if dw != lastW || dt != lastT {
			d, ok := dateWords(dw, dt)
			if !ok {
				goto general
			}
			date = d
		}
		{
			// Product: 1 to 8 bytes, no control or non-ASCII byte.
			ps := rs + 11
			pw := load64(buf, ps)
			pm := commaMask(pw)
			pbelow := (pm&-pm)>>7 - 1 // the bytes below the comma (all without one)
			pk := bits.TrailingZeros64(pm) >> 3
			if pm == 0 && buf[ps+8] != ',' || pbelow == 0 || ((pw-0x2020202020202020)|pw)&pbelow&hi8 != 0 {
				goto general
			}
			pw &= pbelow

			// Amount: 1 to 8 bytes of digits with at most one dot.
			as := ps + pk + 1
			aw := load64(buf, as)
			am := commaMask(aw)
			abelow := (am&-am)>>7 - 1
			ak := bits.TrailingZeros64(am) >> 3
			if am == 0 && buf[as+8] != ',' || abelow == 0 {
				goto general
			}
			aw &= abelow
			frac := 0
			if dots := byteMask(aw, 0x2E2E2E2E2E2E2E2E) & abelow; dots != 0 {
				if dots&(dots-1) != 0 || ak == 1 {
					goto general
				}
				low := (dots&-dots)>>7 - 1 // the bytes below the dot
				aw = aw&low | (aw>>8)&^low
				frac = ak - 1 - bits.TrailingZeros64(dots)>>3
				abelow >>= 8
			}
			if ((aw+0x4646464646464646)|(aw-0x3030303030303030))&abelow&hi8 != 0 {
				goto general // not all digits
			}
			x := (aw - 0x3030303030303030) & abelow
			x <<= uint(bits.LeadingZeros64(abelow)) // right-align
			x = (x*10 + x>>8) & 0x00FF00FF00FF00FF
			x = (x*100 + x>>16) & 0x0000FFFF0000FFFF
			x = (x*10000 + x>>32) & 0xFFFFFFFF
			amt := float64(x) / pow10f[frac]
			cents := int64(-1)
			if frac <= 2 {
				cents = int64(x) * [3]int64{100, 10, 1}[frac]
			}

			// Customer: the rest of the line, 1 to 7 bytes, no comma, no
			// control or non-ASCII byte but a \r right before the newline
			// (part of the line ending).
			cs := as + ak + 1
			cw := load64(buf, cs)
			nl := byteMask(cw, newlines)
			cbelow := (nl&-nl)>>7 - 1
			ck := bits.TrailingZeros64(nl) >> 3
			next := cs + ck + 1
			if bad := ((cw - 0x2020202020202020) | cw | commaMask(cw)) & cbelow & hi8; bad != 0 || nl == 0 {
				top := cbelow &^ (cbelow >> 8) // the byte before the newline
				if nl == 0 || bad != top&hi8 || cw&top != top&0x0D0D0D0D0D0D0D0D {
					goto general
				}
				cbelow >>= 8
				ck--
			}
			if ck == 0 {
				goto general
			}
			cw &= cbelow
			if naFirst[byte(cw)] && isNA(ck, cw) {
				goto general
			}

			// The product's code: one probe finds a known id; a new one
			// (or a collision) goes through internHash. An NA token is
			// never in the dictionary.
			prodH := (pw + uint64(pk)) * dictHashMul
			var prod uint32
			if s := &prods.table[prodH>>prods.shift]; s.w == pw && s.n == uint32(pk) {
				prod = s.code - 1
			} else {
				if isNA(pk, pw) {
					goto general
				}
				prod = prods.internHash(buf[ps:ps+pk], pw, prodH)
			}
			cust := idKey(ck, cw)

			// What row does with an accepted row with no nulls. The date
			// range changes only with the date.
			if dw != lastW || dt != lastT {
				last, lastW, lastT = date, dw, dt
				res.minDate = min(res.minDate, date)
				res.maxDate = max(res.maxDate, date)
			}
			if a != nil {
				ca.rows++
				if amt > 0 {
					ca.cleaned++
					ca.dates = append(ca.dates, date)
					ca.amts = append(ca.amts, amt)
					// addProduct's common case: the same date as the
					// last row, the product's word in range.
					if b := a.lastBits; date == a.lastDay && b != nil && int(prod>>6) < len(*b) {
						(*b)[prod>>6] |= 1 << (prod & 63)
					} else {
						a.addProduct(date, prod)
					}
				}
				if a.dups != nil {
					a.dups.add(rowFingerprint(date, amountBits(amt), prodH, cust), p.base+int64(rs))
				}
				if a.prof != nil {
					// profAgg.add for a row without nulls and with a
					// short customer id.
					pa := a.prof
					if date != pa.lastDate {
						pa.dates.add(int64(date))
						pa.lastDate = date
					}
					pa.custs.add(cust)
					pa.count++
					pa.lo, pa.hi = min(pa.lo, amt), max(pa.hi, amt)
					if cents >= 0 { // addCents, inlined
						pa.cents.add(cents)
						cs := &pa.centsSet
						if o := uint64(cents - cs.lo); o < cs.nbits {
							cs.set[o>>6] |= 1 << (o & 63)
						} else {
							cs.addOutside(cents)
						}
					} else {
						pa.addAmount(amt)
					}
				}
			} else {
				seg.dates = append(seg.dates, date)
				seg.prods = append(seg.prods, prod)
				seg.custs = append(seg.custs, cust)
				seg.amts = append(seg.amts, amt)
			}
			rs = next
			continue
		}
	general:
		// This record takes the general path.
		next := n
		if e := bytes.IndexByte(buf[rs:n], '\n'); e >= 0 {
			next = rs + e + 1
		}
		if !p.parsePlain(buf, rs, next, line, false, res) {
			return false
		}
		rs = next
	}
	if rs < n {
		return p.parsePlain(buf, rs, n, line, false, res)
	}
	return true
}

// naFirst marks the first bytes of the NA tokens (see isNA).
var naFirst = func() (t [256]bool) {
	for _, s := range NATokens {
		if s != "" {
			t[s[0]] = true
		}
	}
	return t
}()
