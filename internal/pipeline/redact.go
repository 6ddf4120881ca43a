package pipeline

// customer_id is personal data: rejected_rows.csv keeps the text of a bad
// row so that it can be fixed, but never the customer's id.

const redacted = "<redacted>"

// redactCustomer returns raw with the customer_id field replaced by
// "<redacted>". When the record cannot be split into the header's number
// of fields (that may be why it was rejected) no field can be trusted to
// be the customer's, so only the field count is kept.
func redactCustomer(raw []byte, lay *layout) string {
	spans, ok := splitRecord(raw)
	if !ok || len(spans) != lay.nfields {
		if !ok {
			return redacted + " (unterminated quote)"
		}
		return redacted + " (" + itoa(len(spans)) + " fields)"
	}
	c := spans[lay.col[colCustomer]]
	if c[0] == c[1] {
		return string(raw) // empty: nothing to hide
	}
	out := make([]byte, 0, len(raw))
	out = append(out, raw[:c[0]]...)
	out = append(out, redacted...)
	return string(append(out, raw[c[1]:]...))
}

// splitRecord returns the [start, end) byte spans of the fields of one
// CSV record (quotes included); ok is false for an unterminated quote.
func splitRecord(raw []byte) (spans [][2]int, ok bool) {
	start, inQuote := 0, false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			spans = append(spans, [2]int{start, i})
			start = i + 1
		}
	}
	if inQuote {
		return nil, false
	}
	return append(spans, [2]int{start, len(raw)}), true
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
