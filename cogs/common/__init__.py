"""What every cog shares, and not an extension itself: the command tree and its one error
handler (``tree``), answering interactions and turning core errors into words
(``answers``), the message catalog in every language (``catalog``), the translator that
gives Discord the commands' names and descriptions (``translator``), and the mod log
(``modlog``)."""
