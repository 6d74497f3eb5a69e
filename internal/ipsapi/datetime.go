package ipsapi

import (
	"encoding/xml"
	"strings"
	"time"

	"github.com/hooklift/gowsdl/soap"
)

// DateTime is the Go type of a required xsd:dateTime element (ActiveJob's
// startDate, JobLogDetail's dateCreated…): it is always written, even when
// zero, because the element must be present. Optional dateTime elements keep
// gowsdl's soap.XSDDateTime, which writes nothing for a zero time.
//
// It is written with milliseconds and the time's own offset, as IPS does
// (2011-03-30T14:32:08.858-05:00); a zero time as 0001-01-01T00:00:00.000Z.
type DateTime struct {
	time.Time
}

// dateTimeLayout is xsd:dateTime with milliseconds.
const dateTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// NewDateTime wraps a time for a required dateTime element.
func NewDateTime(t time.Time) DateTime { return DateTime{Time: t} }

// OptionalDateTime converts a time for an optional dateTime element: the
// zero time gives the zero soap.XSDDateTime, which is left out.
func OptionalDateTime(t time.Time) soap.XSDDateTime {
	if t.IsZero() {
		return soap.XSDDateTime{}
	}
	return soap.CreateXsdDateTime(t, true)
}

// String formats the time as it is written.
func (d DateTime) String() string { return d.Time.Format(dateTimeLayout) }

// MarshalXML writes the element, always.
func (d DateTime) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	t := d.Time
	if t.IsZero() {
		t = time.Time{}.UTC()
	}
	return e.EncodeElement(t.Format(dateTimeLayout), start)
}

// UnmarshalXML reads an xsd:dateTime with 0 to 9 fractional digits and a
// "Z", an offset or no zone (read as UTC). An empty element is the zero
// time. A malformed value is a *time.ParseError.
func (d *DateTime) UnmarshalXML(dec *xml.Decoder, start xml.StartElement) error {
	var s string
	if err := dec.DecodeElement(&s, &start); err != nil {
		return err
	}
	t, err := ParseDateTime(s)
	if err != nil {
		return err
	}
	d.Time = t
	return nil
}

// ParseDateTime parses an xsd:dateTime as clients send it: 0 to 9
// fractional digits, "Z", "±hh:mm" or no zone (UTC). Empty is the zero time.
func ParseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// No zone: the fractional seconds are accepted by Parse even though
	// the layout has none.
	return time.Parse("2006-01-02T15:04:05", s)
}
