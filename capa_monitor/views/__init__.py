"""The Streamlit pages, one thin module per page (settings → data → compute → show), listed by
role in dashboard.py; `data` is their only way to the store, `common` what they share."""
