// Package gotaframe converts salesdag tables to and from gota DataFrames
// (github.com/go-gota/gota/dataframe), so that a node added to the sales
// DAG can do its work with the DataFrame operations Go data code already
// uses. The pipeline itself never uses DataFrames: the conversion happens
// at the boundary, in the nodes that ask for it, and costs a copy of the
// table (fine for the summary tables, not meant for millions of rows).
//
// The conversion is exact both ways. Column kinds map to series types as
// follows; a null is an NA element of the series:
//
//	salesdag.KindInt    <-> series.Int    (int64 values must fit int)
//	salesdag.KindFloat  <-> series.Float  (bit for bit; NaN is null both ways)
//	salesdag.KindBool   <-> series.Bool
//	salesdag.KindString <-> series.String (a string "NaN" stays a string)
//	salesdag.KindDate    -> series.String "YYYY-MM-DD"
//
// gota has no date type, so FromDataFrame reads as dates the String
// columns it is told to, and every other String column as strings.
package gotaframe

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/salesdag/salesdag"
)

// ToDataFrame returns t as a DataFrame with the same columns, in order.
func ToDataFrame(t *salesdag.Table) (dataframe.DataFrame, error) {
	if t == nil || len(t.Columns) == 0 {
		return dataframe.DataFrame{}, fmt.Errorf("gotaframe: a table without columns has no DataFrame form")
	}
	if err := t.Validate(); err != nil {
		return dataframe.DataFrame{}, fmt.Errorf("gotaframe: %w", err)
	}
	cols := make([]series.Series, len(t.Columns))
	seen := map[string]bool{}
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Name == "" || seen[c.Name] {
			// gota would rename the column, and the table would not come back.
			return dataframe.DataFrame{}, fmt.Errorf("gotaframe: column %d: name %q is empty or used twice; DataFrame columns need unique names", i+1, c.Name)
		}
		seen[c.Name] = true
		s, err := toSeries(c)
		if err != nil {
			return dataframe.DataFrame{}, fmt.Errorf("gotaframe: column %q: %w", c.Name, err)
		}
		cols[i] = s
	}
	df := dataframe.New(cols...)
	if df.Err != nil {
		return df, fmt.Errorf("gotaframe: %w", df.Err)
	}
	return df, nil
}

// literal sets a String element to a text that gota's string setter
// would read as NA ("NaN"): only String is called on it.
type literal struct {
	series.Element
	s string
}

func (l literal) String() string { return l.s }

func toSeries(c *salesdag.Column) (series.Series, error) {
	n := c.Len()
	var s series.Series
	switch c.Kind {
	case salesdag.KindInt:
		v := make([]int, n)
		for i, x := range c.Ints {
			if int64(int(x)) != x {
				return s, fmt.Errorf("row %d: %d does not fit a gota Int (int is %d bits here)", i+1, x, strconv.IntSize)
			}
			v[i] = int(x)
		}
		s = series.New(v, series.Int, c.Name)
	case salesdag.KindFloat:
		s = series.New(c.Floats, series.Float, c.Name)
	case salesdag.KindBool:
		s = series.New(c.Bools, series.Bool, c.Name)
	case salesdag.KindString:
		s = series.New(c.Strings, series.String, c.Name)
		for i, x := range c.Strings {
			if x == "NaN" && !c.IsNull(i) {
				s.Elem(i).Set(literal{s: x})
			}
		}
	case salesdag.KindDate:
		v := make([]string, n)
		for i, d := range c.Dates {
			if y := d.Time().Year(); (y < 0 || y > 9999) && !c.IsNull(i) {
				return s, fmt.Errorf("row %d: year %d has no YYYY-MM-DD form", i+1, y)
			}
			v[i] = d.String()
		}
		s = series.New(v, series.String, c.Name)
	default:
		return s, fmt.Errorf("unknown column kind %d", c.Kind)
	}
	for i := range n {
		if c.IsNull(i) {
			if c.Kind == salesdag.KindFloat {
				s.Elem(i).Set(math.NaN())
			} else {
				s.Elem(i).Set(nil)
			}
		}
	}
	return s, s.Err
}

// FromDataFrame returns df as a table with the same columns, in order.
// The String columns named in dateColumns hold dates ("YYYY-MM-DD" or
// NA); a value that is not a date is an error.
func FromDataFrame(df dataframe.DataFrame, dateColumns ...string) (*salesdag.Table, error) {
	if df.Err != nil {
		return nil, fmt.Errorf("gotaframe: the DataFrame carries an error: %w", df.Err)
	}
	names := df.Names()
	for _, d := range dateColumns {
		if !slices.Contains(names, d) {
			return nil, fmt.Errorf("gotaframe: date column %q is not in the DataFrame (columns: %v)", d, names)
		}
	}
	t := &salesdag.Table{Columns: make([]salesdag.Column, len(names))}
	for i, name := range names {
		c, err := fromSeries(df.Col(name), slices.Contains(dateColumns, name))
		if err != nil {
			return nil, fmt.Errorf("gotaframe: column %q: %w", name, err)
		}
		t.Columns[i] = c
	}
	return t, nil
}

func fromSeries(s series.Series, isDate bool) (salesdag.Column, error) {
	n := s.Len()
	c := salesdag.Column{Name: s.Name}
	var valid []bool
	null := func(i int) {
		if valid == nil {
			valid = make([]bool, n)
			for j := range valid {
				valid[j] = true
			}
		}
		valid[i] = false
	}
	switch t := s.Type(); {
	case t == series.Int:
		c.Kind, c.Ints = salesdag.KindInt, make([]int64, n)
		for i := range n {
			e := s.Elem(i)
			if e.IsNA() {
				null(i)
				continue
			}
			v, err := e.Int()
			if err != nil {
				return c, fmt.Errorf("row %d: %w", i+1, err)
			}
			c.Ints[i] = int64(v)
		}
	case t == series.Float:
		c.Kind, c.Floats = salesdag.KindFloat, make([]float64, n)
		for i := range n {
			c.Floats[i] = s.Elem(i).Float() // NA is NaN, which is null
		}
	case t == series.Bool:
		c.Kind, c.Bools = salesdag.KindBool, make([]bool, n)
		for i := range n {
			e := s.Elem(i)
			if e.IsNA() {
				null(i)
				continue
			}
			v, err := e.Bool()
			if err != nil {
				return c, fmt.Errorf("row %d: %w", i+1, err)
			}
			c.Bools[i] = v
		}
	case t == series.String && isDate:
		c.Kind, c.Dates = salesdag.KindDate, make([]salesdag.Date, n)
		for i := range n {
			e := s.Elem(i)
			if e.IsNA() {
				null(i)
				continue
			}
			d, err := time.Parse(time.DateOnly, e.String())
			if err != nil {
				return c, fmt.Errorf("row %d is not a YYYY-MM-DD date", i+1)
			}
			c.Dates[i] = salesdag.DateOf(d.Date())
		}
	case t == series.String:
		c.Kind, c.Strings = salesdag.KindString, make([]string, n)
		for i := range n {
			e := s.Elem(i)
			if e.IsNA() {
				null(i)
				continue
			}
			c.Strings[i] = e.String()
		}
	default:
		return c, fmt.Errorf("series type %q has no table kind", t)
	}
	c.Valid = valid
	return c, nil
}
