package alttext

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// XML namespaces of the XMP properties read.
const (
	nsRDF      = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsDC       = "http://purl.org/dc/elements/1.1/"
	nsIPTCCore = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
	nsXML      = "http://www.w3.org/XML/1998/namespace"
)

// The properties read, in order of preference.
const (
	propNone = iota - 1
	propAlt  // Iptc4xmpCore:AltTextAccessibility
	propDesc // dc:description
	numProps
)

func propOf(n xml.Name) int {
	switch {
	case n.Space == nsIPTCCore && n.Local == "AltTextAccessibility":
		return propAlt
	case n.Space == nsDC && n.Local == "description":
		return propDesc
	}
	return propNone
}

// langAlt collects one property's value while it is parsed: the items of its
// rdf:Alt (any container is accepted), or its plain text.
type langAlt struct {
	prop  int
	lang  string // xml:lang in scope at the property
	depth int    // element depth below the property
	items []langItem
	plain strings.Builder
	li    *strings.Builder // the item being read, if any
	liAt  int              // its depth
	liTag string           // its xml:lang
}

type langItem struct{ lang, text string }

// value is the x-default item if it has text, else the first item with text,
// else the plain text.
func (p *langAlt) value() string {
	for _, it := range p.items {
		if strings.EqualFold(it.lang, "x-default") && clean(it.text) != "" {
			return it.text
		}
	}
	for _, it := range p.items {
		if clean(it.text) != "" {
			return it.text
		}
	}
	return p.plain.String()
}

// xmpTexts returns the Iptc4xmpCore:AltTextAccessibility and dc:description
// values of an XMP packet, each "" if absent. It reads the element form (an
// rdf:Alt of rdf:li items with xml:lang, or plain text) and the attribute form
// on rdf:Description; the first non-empty occurrence of each wins. XML that
// breaks off keeps what was complete before the break.
func xmpTexts(packet []byte) (alt, desc string) {
	var found [numProps]string
	d := xml.NewDecoder(bytes.NewReader(packet))
	d.Entity = xml.HTMLEntity // tolerate &nbsp; and friends from hand-edited packets
	var cur *langAlt
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if cur == nil {
				for _, a := range t.Attr {
					if p := propOf(a.Name); p != propNone && clean(found[p]) == "" {
						found[p] = a.Value
					}
				}
				if p := propOf(t.Name); p != propNone && clean(found[p]) == "" {
					cur = &langAlt{prop: p, lang: langOf(t, "")}
				}
				continue
			}
			cur.depth++
			if cur.li == nil && t.Name.Space == nsRDF && t.Name.Local == "li" {
				cur.li = new(strings.Builder)
				cur.liAt = cur.depth
				cur.liTag = langOf(t, cur.lang)
			}
		case xml.CharData:
			switch {
			case cur == nil:
			case cur.li != nil:
				cur.li.Write(t)
			case cur.depth == 0:
				cur.plain.Write(t)
			}
		case xml.EndElement:
			if cur == nil {
				continue
			}
			if cur.depth == 0 {
				found[cur.prop] = cur.value()
				cur = nil
				continue
			}
			if cur.li != nil && cur.depth == cur.liAt {
				cur.items = append(cur.items, langItem{lang: cur.liTag, text: cur.li.String()})
				cur.li = nil
			}
			cur.depth--
		}
	}
	if cur != nil && len(cur.items) > 0 && clean(found[cur.prop]) == "" {
		found[cur.prop] = cur.value() // broke off inside the property: complete items count
	}
	return found[propAlt], found[propDesc]
}

// langOf returns the element's xml:lang, else inherited.
func langOf(t xml.StartElement, inherited string) string {
	for _, a := range t.Attr {
		if a.Name.Space == nsXML && a.Name.Local == "lang" {
			return a.Value
		}
	}
	return inherited
}
