package output

import (
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/salesdag/salesdag/internal/frame"
)

// TableOf returns a node result as a table, for writers that only know
// tables (a database):
//   - a table (frame.Tabler or *frame.Frame) is itself;
//   - a struct is one row, a slice or array of structs one row per element,
//     with one column per JSON key, named as in the JSON file.
//
// Unlike SchemaOf, every field is a column even when the JSON file leaves
// it out (omitempty): the columns of a table do not change between runs.
// A nil pointer field is a null. Field types map as in SchemaOf: dates,
// floats (NaN and infinities are nulls, as in the JSON file), integers,
// strings and booleans; any other field (a nested object or list) is a
// string column holding its JSON text. Other values (maps, scalars) are
// an error.
func TableOf(v any) (*frame.Frame, error) {
	if isNil(v) {
		return nil, fmt.Errorf("output: no value (nil) to write as a table")
	}
	if f, ok := tableOf(v); ok {
		if f == nil {
			return nil, fmt.Errorf("output: nil table")
		}
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
		return f, nil
	}
	rv, t := deref(reflect.ValueOf(v))
	var rows []reflect.Value
	switch {
	case t != nil && isRecord(t):
		rows = []reflect.Value{rv}
	case t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		et := elemType(t.Elem())
		if !isRecord(et) {
			return nil, fmt.Errorf("output: a list of %s is not a table", et)
		}
		t = et
		for i := range rv.Len() {
			e, _ := deref(rv.Index(i))
			rows = append(rows, e) // invalid for a nil element: a row of nulls
		}
	default:
		return nil, fmt.Errorf("output: a value of type %T is not a table", v)
	}
	var cols []tableColumn
	recordColumns(t, nil, &cols)
	f := &frame.Frame{Columns: make([]frame.Column, len(cols))}
	for i, c := range cols {
		f.Columns[i] = frame.Column{Name: c.name, Kind: c.kind, Valid: make([]bool, 0, len(rows))}
	}
	for _, row := range rows {
		for i, c := range cols {
			fv := row
			for _, idx := range c.index {
				if !fv.IsValid() {
					break
				}
				fv, _ = deref(fv.Field(idx))
			}
			if err := appendValue(&f.Columns[i], fv, c.json); err != nil {
				return nil, fmt.Errorf("output: column %s: %w", c.name, err)
			}
		}
	}
	for i := range f.Columns {
		if !slices.Contains(f.Columns[i].Valid, false) {
			f.Columns[i].Valid = nil
		}
	}
	return f, nil
}

// tableColumn is one struct field that becomes a column.
type tableColumn struct {
	name  string
	kind  frame.Kind
	index []int // field index path (through embedded structs)
	json  bool  // written as its JSON text
}

// recordColumns lists t's JSON keys as columns, as structFields names them.
func recordColumns(t reflect.Type, prefix []int, out *[]tableColumn) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := elemType(sf.Type)
		index := append(append([]int(nil), prefix...), i)
		if sf.Anonymous && name == "" && isRecord(ft) {
			recordColumns(ft, index, out)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		name = cmp.Or(name, sf.Name)
		c := tableColumn{name: name, index: index}
		switch typeName(sf.Type) {
		case "date":
			c.kind = frame.KindDate
		case "float64":
			c.kind = frame.KindFloat
		case "int64":
			c.kind = frame.KindInt
		case "bool":
			c.kind = frame.KindBool
		case "string":
			c.kind = frame.KindString
		default:
			c.kind, c.json = frame.KindString, true
		}
		if strings.Contains(","+opts+",", ",string,") {
			c.kind, c.json = frame.KindString, true
		}
		*out = append(*out, c)
	}
}

// appendValue appends one field value (invalid: null) to c.
func appendValue(c *frame.Column, v reflect.Value, asJSON bool) error {
	null := !v.IsValid()
	if !null && v.Type() == nullFloatType {
		n := v.Interface().(frame.NullFloat)
		null, v = !n.Valid, reflect.ValueOf(n.V)
	}
	c.Valid = append(c.Valid, !null)
	switch c.Kind {
	case frame.KindDate:
		var d frame.Date
		if !null {
			d = frame.Date(v.Int())
		}
		c.Dates = append(c.Dates, d)
	case frame.KindFloat:
		var x float64
		if !null {
			x = v.Float()
		}
		c.Floats = append(c.Floats, x)
	case frame.KindInt:
		var x int64
		if !null {
			if v.CanUint() {
				x = int64(v.Uint())
			} else {
				x = v.Int()
			}
		}
		c.Ints = append(c.Ints, x)
	case frame.KindBool:
		c.Bools = append(c.Bools, !null && v.Bool())
	case frame.KindString:
		var s string
		switch {
		case null:
		case asJSON:
			b, err := json.Marshal(v.Interface())
			if err != nil {
				return err
			}
			s = string(b)
		default:
			s = v.String()
		}
		c.Strings = append(c.Strings, s)
	}
	return nil
}
