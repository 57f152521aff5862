
aliceéaliceoncology"oncology8RÀpZÀö×