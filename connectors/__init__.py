"""Everything that crosses the wire to a CRM, and the common schema it maps into."""
