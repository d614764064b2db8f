"""The main screen's actions, each one linear async flow: ask (a modal, awaited), act
(the source, off the UI thread), report. They run as workers of the screen and read
and write widgets only on the UI thread."""
