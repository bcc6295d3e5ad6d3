"""Publishing: the catalog of episodes, the site (feed.xml, index.html) and the Jinja2 templates that render them."""
