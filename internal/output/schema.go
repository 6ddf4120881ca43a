package output

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/salesdag/salesdag/internal/frame"
)

var (
	dateType      = reflect.TypeFor[frame.Date]()
	floatType     = reflect.TypeFor[frame.Float]()
	nullFloatType = reflect.TypeFor[frame.NullFloat]()
	timeType      = reflect.TypeFor[time.Time]()
)

// SchemaOf describes the fields of a node result, for lineage schema facets:
//   - a table (frame.Tabler or *frame.Frame): its frame schema;
//   - a struct, or a slice/array of structs: one field per JSON key, named
//     and ordered as encoding/json writes them (json tags, "-" skipped,
//     untagged embedded structs flattened);
//   - a map with string keys: its keys, sorted (as encoding/json writes
//     them), typed by the map's value type or by each value;
//   - anything else (scalars, nil): no fields.
//
// Types are "date" (frame.Date), "float64" (any float, frame.Float,
// frame.NullFloat), "int64" (any integer), "string", "bool", "timestamp"
// (time.Time), "array", "object", or "any" for an empty interface.
func SchemaOf(v any) []frame.Field {
	if isNil(v) {
		return nil
	}
	if f, ok := tableOf(v); ok {
		if f == nil {
			return nil
		}
		return f.Schema()
	}
	return fieldsOf(reflect.ValueOf(v))
}

func fieldsOf(rv reflect.Value) []frame.Field {
	rv, t := deref(rv)
	if t == nil {
		return nil
	}
	switch {
	case isRecord(t):
		return structFields(t, rv)
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		et := elemType(t.Elem())
		if isRecord(et) {
			return structFields(et, reflect.Value{})
		}
		// Elements of interface or map type: describe the first one.
		if rv.IsValid() && rv.Len() > 0 {
			return fieldsOf(rv.Index(0))
		}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		if !rv.IsValid() {
			return nil
		}
		out := make([]frame.Field, 0, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			out = append(out, frame.Field{Name: it.Key().String(), Type: valueTypeName(it.Value())})
		}
		slices.SortFunc(out, func(a, b frame.Field) int { return strings.Compare(a.Name, b.Name) })
		return out
	}
	return nil
}

// deref follows pointers and interfaces. For a nil pointer it still returns
// the pointed-to type (with an invalid value), so a typed nil has a schema.
func deref(rv reflect.Value) (reflect.Value, reflect.Type) {
	for rv.IsValid() {
		switch rv.Kind() {
		case reflect.Pointer:
			if rv.IsNil() {
				return reflect.Value{}, elemType(rv.Type().Elem())
			}
			rv = rv.Elem()
		case reflect.Interface:
			if rv.IsNil() {
				return reflect.Value{}, nil
			}
			rv = rv.Elem()
		default:
			return rv, rv.Type()
		}
	}
	return rv, nil
}

// isRecord reports whether t is a struct written as a JSON object, not one
// of the struct types that marshal as a single value.
func isRecord(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t != nullFloatType && t != timeType
}

// structFields lists t's JSON keys the way encoding/json names them. With
// a value (rv valid), fields that encoding/json leaves out of that value
// (omitempty and empty, omitzero and zero) are left out too, so that the
// schema lists what the file holds.
func structFields(t reflect.Type, rv reflect.Value) []frame.Field {
	var out []frame.Field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		var fv reflect.Value
		if rv.IsValid() {
			fv = rv.Field(i)
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := elemType(sf.Type)
		if sf.Anonymous && name == "" && isRecord(ft) {
			ev, _ := deref(fv)
			out = append(out, structFields(ft, ev)...)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		name = cmp.Or(name, sf.Name)
		optList := strings.Split(opts, ",")
		if fv.IsValid() && ((slices.Contains(optList, "omitempty") && isEmptyJSON(fv)) ||
			(slices.Contains(optList, "omitzero") && fv.IsZero())) {
			continue
		}
		typ := typeName(sf.Type)
		if slices.Contains(optList, "string") {
			typ = "string"
		}
		out = append(out, frame.Field{Name: name, Type: typ})
	}
	return out
}

// typeName names a Go type in the schema vocabulary.
func typeName(t reflect.Type) string {
	t = elemType(t)
	switch t {
	case dateType:
		return "date"
	case floatType, nullFloatType:
		return "float64"
	case timeType:
		return "timestamp"
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "float64"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "int64"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "any"
}

// valueTypeName names the type of a map value, looking inside interfaces.
func valueTypeName(v reflect.Value) string {
	for v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "any"
		}
		v = v.Elem()
	}
	return typeName(v.Type())
}

// isEmptyJSON is encoding/json's test for omitempty.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// elemType follows pointer types to the type they point to.
func elemType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
