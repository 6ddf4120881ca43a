package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
)

// ContentSource is implemented by input values that stand for bytes, such
// as an input file: their key is a hash of the content, not of the value.
// A non-empty path is hashed through the store's side index (see
// Store.FileKey); otherwise open is read once.
type ContentSource interface {
	CacheContent() (path string, open func() (io.ReadCloser, error))
}

// ContentFiles is implemented by input values that stand for several
// files read in order, such as a multi-file input: their key hashes the
// content key of every file (see Store.FileKey), in order, so that changing
// any one file, or the order, gives another key. No paths (nil) means the
// value is not such a set; ContentSource then applies.
type ContentFiles interface {
	CacheFiles() []string
}

// ValueKey hashes a plain value: a canonical encoding of its type and
// contents, following pointers, sorting map keys, including unexported
// fields and leaving out functions and channels (which cannot be
// compared). Use it for option structs; inputs with a better notion of
// identity get their key from Options.InputKey.
func ValueKey(v any) (string, error) {
	var w valueHasher
	w.buf.WriteString("salesdag-value-v1\x00")
	if err := w.value(reflect.ValueOf(v), 0); err != nil {
		return "", err
	}
	s := sha256.Sum256(w.buf.Bytes())
	return hex.EncodeToString(s[:]), nil
}

type valueHasher struct{ buf bytes.Buffer }

const maxValueDepth = 64

func (w *valueHasher) str(s string) {
	var b [binary.MaxVarintLen64]byte
	w.buf.Write(b[:binary.PutUvarint(b[:], uint64(len(s)))])
	w.buf.WriteString(s)
}

func (w *valueHasher) u64(u uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], u)
	w.buf.Write(b[:])
}

func (w *valueHasher) value(v reflect.Value, depth int) error {
	if depth > maxValueDepth {
		return errors.New("cache: value is too deeply nested or cyclic to hash; key it with Options.InputKey")
	}
	if !v.IsValid() {
		w.str("nil")
		return nil
	}
	t := v.Type()
	w.str(t.PkgPath() + "." + t.String())
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			w.buf.WriteByte(1)
		} else {
			w.buf.WriteByte(0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.u64(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.u64(v.Uint())
	case reflect.Float32, reflect.Float64:
		w.u64(math.Float64bits(v.Float()))
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		w.u64(math.Float64bits(real(c)))
		w.u64(math.Float64bits(imag(c)))
	case reflect.String:
		w.str(v.String())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			w.str("nil")
			return nil
		}
		w.u64(uint64(v.Len()))
		for i := 0; i < v.Len(); i++ {
			if err := w.value(v.Index(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.IsNil() {
			w.str("nil")
			return nil
		}
		type kv struct{ k, v []byte }
		var pairs []kv
		it := v.MapRange()
		for it.Next() {
			var kw, vw valueHasher
			if err := kw.value(it.Key(), depth+1); err != nil {
				return err
			}
			if err := vw.value(it.Value(), depth+1); err != nil {
				return err
			}
			pairs = append(pairs, kv{kw.buf.Bytes(), vw.buf.Bytes()})
		}
		sort.Slice(pairs, func(i, j int) bool { return bytes.Compare(pairs[i].k, pairs[j].k) < 0 })
		w.u64(uint64(len(pairs)))
		for _, p := range pairs {
			w.buf.Write(p.k)
			w.buf.Write(p.v)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := t.Field(i)
			switch f.Type.Kind() {
			case reflect.Func, reflect.Chan, reflect.UnsafePointer:
				continue // not data: callbacks such as progress reporting
			}
			w.str(f.Name)
			if err := w.value(v.Field(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			w.str("nil")
			return nil
		}
		return w.value(v.Elem(), depth+1)
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		// Not data; the type name alone is hashed.
	default:
		return fmt.Errorf("cache: cannot hash a value of kind %s", v.Kind())
	}
	return nil
}

// inputKey returns the key of an input value: Options.InputKey's, else the
// content hash for content sources, else ValueKey.
func (c *Cache) inputKey(ctx context.Context, name string, v any) (string, []FileStamp, error) {
	if c.opts.InputKey != nil {
		k, ok, err := c.opts.InputKey(ctx, name, v)
		if err != nil {
			return "", nil, err
		}
		if ok {
			return "custom:" + k, nil, nil
		}
	}
	if x, ok := v.(ContentFiles); ok {
		if paths := x.CacheFiles(); len(paths) > 0 {
			keys := []string{"files"}
			var stamps []FileStamp
			for _, path := range paths {
				k, stamp, err := c.store.fileKey(ctx, path, func(err error) {
					c.emit(NodeEvent{Node: name, Status: StatusCorrupt, Err: err})
				})
				if err != nil {
					return "", nil, err
				}
				keys, stamps = append(keys, k), append(stamps, stamp)
			}
			return "content:" + hashStrings(keys...), stamps, nil
		}
	}
	if x, ok := v.(ContentSource); ok {
		path, open := x.CacheContent()
		if path != "" {
			k, stamp, err := c.store.fileKey(ctx, path, func(err error) {
				c.emit(NodeEvent{Node: name, Status: StatusCorrupt, Err: err})
			})
			if err != nil {
				return "", nil, err
			}
			return "content:" + k, []FileStamp{stamp}, nil
		}
		if open == nil {
			return "", nil, fmt.Errorf("cache: input %s can be read only once (a pipe, not a regular file): results that depend on it are not cached", name)
		}
		r, err := open()
		if err != nil {
			return "", nil, fmt.Errorf("cache: opening input %s: %w", name, err)
		}
		defer r.Close()
		k, err := HashReader(ctx, r)
		return "content:" + k, nil, err
	}
	k, err := ValueKey(v)
	return "value:" + k, nil, err
}
