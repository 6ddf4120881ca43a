package app

import (
	"slices"

	"github.com/salesdag/salesdag/internal/frame"
)

// PersonalColumns hold personal data: no written file may contain their
// values (counts elsewhere are fine). Today only the row-level tables
// (--outputs raw_sales_data / cleaned_sales_data) have such a column.
var PersonalColumns = []string{"customer_id"}

// Redacted replaces each value of a personal column.
const Redacted = "<redacted>"

// redactedTable is a table written with its personal columns masked.
type redactedTable struct{ f *frame.Frame }

func (r redactedTable) Table() *frame.Frame { return r.f }

// redactPersonal returns v unchanged unless it is a table with a personal
// column; then a copy whose personal values read Redacted (nulls stay null).
func redactPersonal(v any) any {
	t, ok := v.(frame.Tabler)
	if !ok {
		return v
	}
	f := t.Table()
	var out *frame.Frame
	for i, c := range f.Columns {
		if !slices.Contains(PersonalColumns, c.Name) || c.Kind != frame.KindString {
			continue
		}
		if out == nil {
			out = &frame.Frame{Columns: append([]frame.Column(nil), f.Columns...)}
		}
		masked := make([]string, len(c.Strings))
		for j := range masked {
			if !c.IsNull(j) {
				masked[j] = Redacted
			}
		}
		out.Columns[i].Strings = masked
	}
	if out == nil {
		return v
	}
	return redactedTable{out}
}
