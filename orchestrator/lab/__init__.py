"""The lab: the Docker Engine (the one module that imports the SDK), images, programs in containers, the observer, waits, the capture, impairments applied, a lab's hosts."""
