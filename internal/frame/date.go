package frame

import (
	"fmt"
	"time"
)

// Date is a calendar date stored as days since 1970-01-01. It is four bytes,
// orders like the calendar and needs no time zone.
type Date int32

// DateOf returns the Date for a year, month and day.
func DateOf(year int, month time.Month, day int) Date {
	return Date(time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Weekday returns the day of the week (1970-01-01 was a Thursday).
func (d Date) Weekday() time.Weekday {
	w := (int64(d) + 4) % 7
	if w < 0 {
		w += 7
	}
	return time.Weekday(w)
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string {
	y, m, dd := d.Time().Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), dd)
}

// MarshalJSON writes the date as a "YYYY-MM-DD" string.
func (d Date) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads a "YYYY-MM-DD" string.
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("frame: date must be a JSON string, got %s", b)
	}
	t, err := time.Parse(time.DateOnly, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("frame: %w", err)
	}
	*d = Date(t.Unix() / 86400)
	return nil
}
