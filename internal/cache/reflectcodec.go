package cache

import (
	"fmt"
	"math"
	"reflect"
	"strings"
)

// StructCodec returns a codec for T with a bit-exact binary encoding
// derived from its type by reflection: booleans, numbers, strings, and
// slices, arrays, pointers, maps and structs of them. Every field must be
// exported (reflection cannot set others) and no field may be a function,
// channel or interface; otherwise the error says which field is the
// problem.
//
// The type's shape (field names and types, recursively) is part of the
// codec's ID, so adding, removing or retyping a field changes the entry
// keys: an entry is never decoded into a type it was not written from.
// Fields added later are picked up automatically, which a hand-written
// codec could forget.
func StructCodec[T any](id string) (Codec, error) {
	t := reflect.TypeFor[T]()
	var shape strings.Builder
	if err := describe(&shape, t, map[reflect.Type]bool{}); err != nil {
		return Codec{}, fmt.Errorf("cache: %s cannot use the struct codec: %w", t, err)
	}
	return Codec{
		Type: t,
		ID:   id + " " + shape.String(),
		Encode: func(v any) ([]byte, error) {
			e := &encoder{b: make([]byte, 0, 256)}
			encodeValue(e, reflect.ValueOf(v))
			return e.b, nil
		},
		Decode: func(b []byte) (any, error) {
			d := &decoder{b: b}
			p := reflect.New(t)
			decodeValue(d, p.Elem(), 0)
			if err := d.finish(); err != nil {
				return nil, err
			}
			return p.Elem().Interface(), nil
		},
	}, nil
}

// describe writes the shape of t and checks that the codec supports it.
func describe(b *strings.Builder, t reflect.Type, seen map[reflect.Type]bool) error {
	if t.Name() != "" && t.PkgPath() != "" { // a defined type, not int or string
		b.WriteString(t.PkgPath() + "." + t.Name() + "=")
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		b.WriteString(t.Kind().String())
	case reflect.Slice:
		b.WriteString("[]")
		return describe(b, t.Elem(), seen)
	case reflect.Array:
		fmt.Fprintf(b, "[%d]", t.Len())
		return describe(b, t.Elem(), seen)
	case reflect.Pointer:
		b.WriteString("*")
		return describe(b, t.Elem(), seen)
	case reflect.Map:
		b.WriteString("map[")
		if err := describe(b, t.Key(), seen); err != nil {
			return err
		}
		b.WriteString("]")
		return describe(b, t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return fmt.Errorf("type %s is recursive", t)
		}
		seen[t] = true
		defer delete(seen, t)
		b.WriteString("{")
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				return fmt.Errorf("field %s.%s is unexported", t, f.Name)
			}
			b.WriteString(f.Name + " ")
			if err := describe(b, f.Type, seen); err != nil {
				return fmt.Errorf("field %s.%s: %w", t, f.Name, err)
			}
			b.WriteString(";")
		}
		b.WriteString("}")
	default:
		return fmt.Errorf("kind %s is not supported", t.Kind())
	}
	return nil
}

// encodeValue writes v; describe has vetted its type.
func encodeValue(e *encoder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		e.Bool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.Varint(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		e.Uvarint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.Float64(v.Float())
	case reflect.String:
		e.String(v.String())
	case reflect.Slice:
		if v.IsNil() {
			e.Uvarint(0)
			return
		}
		e.Uvarint(uint64(v.Len()) + 1)
		encodeElems(e, v)
	case reflect.Array:
		encodeElems(e, v)
	case reflect.Pointer:
		if v.IsNil() {
			e.Bool(false)
			return
		}
		e.Bool(true)
		encodeValue(e, v.Elem())
	case reflect.Map:
		if v.IsNil() {
			e.Uvarint(0)
			return
		}
		e.Uvarint(uint64(v.Len()) + 1)
		it := v.MapRange()
		for it.Next() {
			encodeValue(e, it.Key())
			encodeValue(e, it.Value())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			encodeValue(e, v.Field(i))
		}
	}
}

// encodeElems writes the elements of a slice or array; slices of
// fixed-width numbers take a fast path.
func encodeElems(e *encoder, v reflect.Value) {
	n := v.Len()
	switch v.Type().Elem().Kind() {
	case reflect.Float64:
		for i := 0; i < n; i++ {
			e.Float64(v.Index(i).Float())
		}
		return
	case reflect.Int64, reflect.Int32:
		for i := 0; i < n; i++ {
			e.Varint(v.Index(i).Int())
		}
		return
	}
	for i := 0; i < n; i++ {
		encodeValue(e, v.Index(i))
	}
}

// decodeValue reads into v (settable). Lengths are checked against the
// bytes left, so corrupt input fails instead of allocating wildly.
func decodeValue(d *decoder, v reflect.Value, depth int) {
	if d.err != nil {
		return
	}
	if depth > 100 {
		d.fail(fmt.Errorf("value nested too deeply"))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(d.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := d.Varint()
		if v.OverflowInt(x) {
			d.fail(fmt.Errorf("%d overflows %s", x, v.Type()))
			return
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x := d.Uvarint()
		if v.OverflowUint(x) {
			d.fail(fmt.Errorf("%d overflows %s", x, v.Type()))
			return
		}
		v.SetUint(x)
	case reflect.Float32:
		f := d.Float64()
		if !math.IsNaN(f) && !math.IsInf(f, 0) && v.OverflowFloat(f) {
			d.fail(fmt.Errorf("%g overflows float32", f))
			return
		}
		v.SetFloat(f)
	case reflect.Float64:
		v.SetFloat(d.Float64())
	case reflect.String:
		v.SetString(d.String())
	case reflect.Slice:
		n := d.Uvarint()
		if n == 0 || d.err != nil {
			return // nil slice
		}
		n--
		// Every element of a type with a size takes at least one byte.
		if v.Type().Elem().Size() > 0 && n > uint64(len(d.b)-d.off) {
			d.fail(fmt.Errorf("slice length %d does not fit in the payload", n))
			return
		}
		s := reflect.MakeSlice(v.Type(), int(n), int(n))
		for i := 0; i < int(n) && d.err == nil; i++ {
			decodeValue(d, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len() && d.err == nil; i++ {
			decodeValue(d, v.Index(i), depth+1)
		}
	case reflect.Pointer:
		if !d.Bool() {
			return
		}
		p := reflect.New(v.Type().Elem())
		decodeValue(d, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Map:
		n := d.Uvarint()
		if n == 0 || d.err != nil {
			return
		}
		n--
		zero := v.Type().Key().Size()+v.Type().Elem().Size() == 0
		// A key and a value take at least one byte, unless both have no
		// size, and then there is at most one of them.
		if (!zero && n > uint64(len(d.b)-d.off)) || (zero && n > 1) {
			d.fail(fmt.Errorf("map length %d does not fit in the payload", n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), int(n))
		for i := 0; i < int(n) && d.err == nil; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			e := reflect.New(v.Type().Elem()).Elem()
			decodeValue(d, k, depth+1)
			decodeValue(d, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := 0; i < v.NumField() && d.err == nil; i++ {
			decodeValue(d, v.Field(i), depth+1)
		}
	}
}
